"""A journal judged again from the values and tolerances it stores, and `chaoskit report`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaoskit.cli import main
from chaoskit.errors import ConfigError
from chaoskit.model.experiment import Experiment
from chaoskit.model.history import ProbeReading
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.verdict import Verdict
from chaoskit.report import write_reports
from chaoskit.report.journal import read_journal
from chaoskit.report.rejudge import rejudge
from tests.unit.report.fixtures import deviated_journal, gorilla_experiment, gorilla_journal


def test_a_journal_read_back_is_judged_as_it_was(tmp_path: Path) -> None:
    for journal in (gorilla_journal(), deviated_journal()):
        write_reports(tmp_path, journal)
        again = rejudge(read_journal(tmp_path / "journal.json"))
        assert again.judgement == journal.judgement


def test_tolerances_written_as_text_by_schema_1_are_read_back_as_data(tmp_path: Path) -> None:
    write_reports(tmp_path, gorilla_journal())
    path = tmp_path / "journal.json"
    document = json.loads(path.read_text())
    for event in document["history"]["events"]:
        if event["type"] == "probe":
            event["tolerance"] = Tolerance.model_validate(event["tolerance"]).describe()
    path.write_text(json.dumps(document))
    readings = read_journal(path).history.of_type(ProbeReading)
    assert {r.tolerance for r in readings} == {Tolerance(min=0.99), Tolerance(max=500),
                                               Tolerance(min=0.8)}


def test_a_looser_tolerance_turns_a_deviation_into_a_pass_and_a_tighter_one_back() -> None:
    deviated = deviated_journal()
    assert deviated.judgement.verdict == Verdict.DEVIATED  # 0.9312 during the outage
    looser = _experiment_with(success=0.9)
    assert rejudge(deviated, looser).judgement.verdict == Verdict.PASSED
    tighter = _experiment_with(p99=300)  # p99 was 412 ms during the outage
    judged = rejudge(gorilla_journal(), tighter).judgement
    assert judged.verdict == Verdict.DEVIATED
    assert any("p99 stays low = 412, expected <= 300" in r for r in judged.reasons)


def test_judging_against_an_experiment_with_other_probes_names_the_known_ones() -> None:
    other = gorilla_experiment()
    renamed = other.model_copy(update={"steady_state": tuple(
        p.model_copy(update={"name": p.name + "!"}) for p in other.steady_state)})
    with pytest.raises(ConfigError, match="its probes are 'p99 stays low', 'play starts"):
        rejudge(gorilla_journal(), renamed)


def test_chaoskit_report_exits_with_the_verdict_and_says_when_it_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    write_reports(tmp_path, deviated_journal())
    journal = tmp_path / "journal.json"
    assert main(["report", str(journal)]) == 1
    out = capsys.readouterr().out
    assert "verdict: deviated\n" in out and str(tmp_path / "report.html") in out
    looser = tmp_path / "looser.yaml"
    looser.write_text(_yaml_with(success=0.9))
    (tmp_path / "report.html").unlink()
    assert main(["report", str(journal), "--against", str(looser)]) == 0
    out = capsys.readouterr().out
    assert f"verdict: passed against {looser} (recorded: deviated)" in out
    assert not (tmp_path / "report.html").exists(), "a what-if writes no file"


def _experiment_with(success: float = 0.99, p99: float = 500) -> Experiment:
    experiment = gorilla_experiment()
    bounds = {"play starts succeed": Tolerance(min=success), "p99 stays low": Tolerance(max=p99)}
    return experiment.model_copy(update={"steady_state": tuple(
        p.model_copy(update={"tolerance": bounds[p.name]}) for p in experiment.steady_state)})


def _yaml_with(success: float) -> str:
    return f"""
title: looser
topology:
  name: t
  regions: [{{name: us-east, zones: [us-east-1a]}}]
  services: [{{name: api, command: [python, -c, pass]}}]
  entrypoint: api
steady_state:
  - {{name: play starts succeed, probe: load.success_ratio, tolerance: {{min: {success}}}}}
"""
