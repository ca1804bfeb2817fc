"""chaoskit's one list of defences, and the bundled targets' own copy of it."""

from __future__ import annotations

import pytest

from chaoskit import cli
from chaoskit.model.defences import BUNDLED_DEFENCES, DEFENCES
from targets.common import config


def test_chaoskit_and_the_targets_know_the_same_defences() -> None:
    # targets/ imports nothing from chaoskit, so it keeps its own list: they must agree.
    assert set(DEFENCES) == set(config.DEFENCES)
    assert len(DEFENCES) == len(set(DEFENCES))


def test_every_defence_says_what_switching_it_off_removes() -> None:
    assert all(d.description.strip() for d in BUNDLED_DEFENCES)


def test_the_cli_accepts_every_defence_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    parser = cli._parser()
    flags = [f"--disable={name}" for name in DEFENCES]
    assert parser.parse_args(["run", "x.yaml", *flags]).disable == list(DEFENCES)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["run", "x.yaml", "--disable", "retires"])
    assert exit_.value.code == 2
    assert "invalid choice: 'retires'" in capsys.readouterr().err
