"""journal.json round-trips, and the writers put every report beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaoskit.errors import ConfigError
from chaoskit.model.history import FaultEvent, LoadSample
from chaoskit.report import render_reports, write_reports
from chaoskit.report.journal import SCHEMA_VERSION, read_journal, write_journal
from tests.unit.report.fixtures import T0, gorilla_journal


def test_journal_round_trips_equal(tmp_path: Path) -> None:
    journal = gorilla_journal()
    path = write_journal(tmp_path / "run", journal)
    assert path == tmp_path / "run" / "journal.json"
    again = read_journal(path)
    assert again == journal
    # The typed events survive, not just their dicts.
    assert [type(e) for e in again.history.events] == [type(e) for e in journal.history.events]
    assert len(again.history.of_type(LoadSample)) == 60
    assert again.history.of_type(FaultEvent)[1].targets == journal.history.of_type(
        FaultEvent)[1].targets


def test_journal_is_versioned_json(tmp_path: Path) -> None:
    data = json.loads(write_journal(tmp_path, gorilla_journal()).read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["started"] == T0
    assert data["judgement"]["verdict"] == "passed"
    assert data["experiment"]["steady_state"][0]["name"] == "play starts succeed"
    assert not list(tmp_path.glob("*.partial"))


def test_write_reports_writes_all_three(tmp_path: Path) -> None:
    paths = write_reports(tmp_path / "run", gorilla_journal())
    assert [p.name for p in paths] == ["journal.json", "report.html", "junit.xml"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_render_reports_re_renders_beside_the_journal(tmp_path: Path) -> None:
    journal_path = write_journal(tmp_path, gorilla_journal())
    paths = render_reports(journal_path)
    assert paths == [tmp_path / "report.html", tmp_path / "junit.xml"]
    assert "Passed" in paths[0].read_text()


@pytest.mark.parametrize("content", [None, "not json", '{"run_id": "x"}', "\udcff"])
def test_render_reports_on_a_bad_journal_is_a_config_error(tmp_path: Path,
                                                          content: str | None) -> None:
    path = tmp_path / "journal.json"
    if content == "\udcff":
        path.write_bytes(b"\xff\xfe\x00garbage")
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        render_reports(path)
    assert str(path) in str(caught.value)
    assert not (tmp_path / "report.html").exists()


def test_a_journal_from_a_newer_chaoskit_is_refused(tmp_path: Path) -> None:
    path = write_journal(tmp_path, gorilla_journal().model_copy(update={"schema_version": 99}))
    with pytest.raises(ConfigError, match="upgrade chaoskit"):
        read_journal(path)


def test_the_experiment_file_survives_the_journal(tmp_path: Path) -> None:
    # The experiment's own ``source`` is not serialised; the journal keeps it, so a
    # re-rendered junit.xml names its testcases exactly as the run did.
    base = gorilla_journal()
    experiment = base.experiment.model_copy(update={"source": "experiments/netflix_az.yaml"})
    journal = base.model_copy(update={"experiment": experiment})
    journal = type(journal).model_validate(journal.model_dump() | {"experiment": experiment})
    assert journal.source == "experiments/netflix_az.yaml"
    again = read_journal(write_journal(tmp_path, journal))
    assert again.experiment.source is None
    assert again.source == "experiments/netflix_az.yaml"
    assert again.slug == journal.slug == "netflix-az"


def test_a_directory_is_not_a_journal(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the journal"):
        render_reports(tmp_path)
