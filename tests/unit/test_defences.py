"""chaoskit's one list of defences, and the bundled targets' own copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit import cli
from chaoskit.model.defences import BUNDLED_DEFENCES, DEFENCES, unknown_defences
from targets.common import config


def test_chaoskit_and_the_targets_know_the_same_defences() -> None:
    # targets/ imports nothing from chaoskit, so it keeps its own list: they must agree.
    assert set(DEFENCES) == set(config.DEFENCES)
    assert len(DEFENCES) == len(set(DEFENCES))


def test_every_defence_says_what_switching_it_off_removes() -> None:
    assert all(d.description.strip() for d in BUNDLED_DEFENCES)


def test_a_run_may_disable_bundled_and_declared_defences_and_nothing_else() -> None:
    assert unknown_defences(DEFENCES) is None
    assert unknown_defences(["sentinel", "retries"], declared=["sentinel"]) is None
    message = unknown_defences(["retires"], declared=["sentinel"])
    assert message is not None
    assert "'retires'" in message and "sentinel" in message and "retries" in message


def test_the_cli_refuses_an_unknown_defence_before_starting_anything(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "experiments/netflix_az.yaml", "--disable", "retires",
                     "--reports", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "--disable" in err and "unknown defence 'retires'" in err
    assert "Traceback" not in err
