"""The CTK engine's run flow with Python activities only (no processes, no network).

State lives in files under tmp_path: actions write them, probes read them, so
each test sees exactly which activities ran.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chaoskit.ctk import load_ctk
from chaoskit.ctk.engine import CtkRunOptions, CtkRunResult, run_ctk
from chaoskit.ctk.journal import read_ctk_journal
from chaoskit.errors import ConfigError

MODULE = "tests.unit.ctk.probes"


def _call(func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "python", "module": MODULE, "func": func, "arguments": arguments}


def _experiment(tmp_path: Path, *, state: str = "ok", method: list[dict[str, Any]] | None = None,
                rollbacks: list[dict[str, Any]] | None = None, **extra: Any) -> Path:
    """The hypothesis: state.txt reads ``state``. The default method breaks it (appends "!"),
    and the default rollback writes undone.txt."""
    (tmp_path / "state.txt").write_text(state)
    data = {
        "title": "state stays ok", "description": "unit",
        "steady-state-hypothesis": {"title": "state is ok", "probes": [
            {"type": "probe", "name": "state", "tolerance": "ok",
             "provider": _call("read_text", path=str(tmp_path / "state.txt"))}]},
        "method": method if method is not None else [
            {"type": "action", "name": "break", "provider": _call(
                "write_text", path=str(tmp_path / "state.txt"), text="!")}],
        "rollbacks": rollbacks if rollbacks is not None else [
            {"type": "action", "name": "undo", "provider": _call(
                "write_text", path=str(tmp_path / "undone.txt"), text="undone")}],
        **extra,
    }
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _run(path: Path, **options: Any) -> CtkRunResult:
    options.setdefault("reports_dir", path.parent / "reports")
    return run_ctk(load_ctk(path), CtkRunOptions(handle_signals=False, quiet=True, **options))


def _names(runs: list[Any]) -> list[str]:
    return [str(r.activity.get("name")) for r in runs]


def test_a_method_that_breaks_the_state_deviates_and_rolls_back(tmp_path: Path) -> None:
    result = _run(_experiment(tmp_path))
    journal = result.journal
    assert (journal.status, journal.deviated) == ("completed", True)
    assert result.exit_code == 1 and result.judgement.verdict == "deviated"
    assert journal.steady_states.before is not None
    assert journal.steady_states.before.steady_state_met is True
    assert journal.steady_states.after is not None
    assert journal.steady_states.after.probes[0].tolerance_met is False
    assert _names(journal.rollbacks) == ["undo"]
    assert (tmp_path / "undone.txt").read_text() == "undone"
    assert 'probe state = "ok!", expected "ok"' in result.judgement.reasons[0]


def test_journal_report_and_junit_are_written_in_ctk_shape(tmp_path: Path) -> None:
    result = _run(_experiment(tmp_path, method=[]))
    assert result.run_dir is not None and result.journal_path is not None
    raw = json.loads(result.journal_path.read_text())
    assert list(raw)[:12] == ["chaoslib-version", "platform", "node", "experiment", "start",
                              "end", "duration", "status", "deviated", "steady_states", "run",
                              "rollbacks"]
    assert raw["experiment"]["steady-state-hypothesis"]["probes"][0]["tolerance"] == "ok"
    assert raw["chaoskit"]["exit_code"] == 0
    assert read_ctk_journal(result.journal_path) == result.journal
    html = (result.run_dir / "report.html").read_text()
    assert "Passed" in html and "<strong>state</strong>" in html
    junit = (result.run_dir / "junit.xml").read_text()
    assert 'name="before: state"' in junit and 'name="after: state"' in junit


def test_a_hypothesis_that_fails_first_runs_neither_method_nor_rollbacks(tmp_path: Path) -> None:
    result = _run(_experiment(tmp_path, state="broken"))
    journal = result.journal
    # CTK's own status and flag: completed, not deviated...
    assert (journal.status, journal.deviated) == ("completed", False)
    # ...but chaoskit's verdict and exit code: not steady, 3 (chaos run exits 0 here).
    assert result.exit_code == 3 and result.judgement.verdict == "not_steady"
    assert journal.run == [] and journal.rollbacks == []
    assert (tmp_path / "state.txt").read_text() == "broken"
    assert not (tmp_path / "undone.txt").exists()
    assert journal.chaoskit.rollbacks_played is False


def test_a_failed_action_does_not_fail_the_run_and_rollbacks_follow(tmp_path: Path) -> None:
    method = [{"type": "action", "name": "explode", "provider": _call("fail", message="nope")},
              {"type": "probe", "name": "look", "provider": _call(
                  "read_text", path=str(tmp_path / "state.txt"))}]
    result = _run(_experiment(tmp_path, method=method))
    journal = result.journal
    assert (journal.status, journal.deviated, result.exit_code) == ("completed", False, 0)
    assert [(r.activity["name"], r.status) for r in journal.run] == [
        ("explode", "failed"), ("look", "succeeded")]
    assert journal.run[0].exception is not None
    assert "ValueError: nope" in journal.run[0].exception[-1]
    assert _names(journal.rollbacks) == ["undo"]
    assert any("1 method activity failed" in r for r in result.judgement.reasons)


def test_a_probe_that_raises_after_the_method_makes_the_run_failed(tmp_path: Path) -> None:
    path = _experiment(tmp_path, method=[{"type": "action", "name": "remove", "provider": _call(
        "write_text", path=str(tmp_path / "flag"), text="x")}])
    data = json.loads(path.read_text())
    data["steady-state-hypothesis"]["probes"].append(
        {"type": "probe", "name": "flag-absent", "tolerance": "",
         "provider": _call("read_text", path=str(tmp_path / "flag"))})
    path.write_text(json.dumps(data))
    result = _run(path)
    assert (result.journal.status, result.journal.deviated) == ("completed", True)
    assert result.exit_code == 1


@pytest.mark.parametrize(("strategy", "deviated", "played"), [
    ("default", True, True),
    ("always", True, True),
    ("never", True, False),
    ("deviated", True, True),
])
def test_rollback_strategies(tmp_path: Path, strategy: str, deviated: bool,
                             played: bool) -> None:
    result = _run(_experiment(tmp_path), rollback_strategy=strategy)
    assert result.journal.deviated is deviated
    assert bool(result.journal.rollbacks) is played
    assert (tmp_path / "undone.txt").exists() is played


def test_deviated_strategy_skips_rollbacks_of_a_run_that_held(tmp_path: Path) -> None:
    result = _run(_experiment(tmp_path, method=[]), rollback_strategy="deviated")
    assert result.journal.rollbacks == [] and result.exit_code == 0


def test_always_plays_rollbacks_even_when_the_method_never_ran(tmp_path: Path) -> None:
    result = _run(_experiment(tmp_path, state="broken"), rollback_strategy="always")
    assert result.exit_code == 3 and _names(result.journal.rollbacks) == ["undo"]


@pytest.mark.parametrize(("strategy", "before", "after"), [
    ("default", True, True),
    ("before-method-only", True, False),
    ("after-method-only", False, True),
    ("during-method-only", False, False),
    ("continuously", True, True),
])
def test_hypothesis_strategies_check_where_ctk_checks(tmp_path: Path, strategy: str,
                                                      before: bool, after: bool) -> None:
    result = _run(_experiment(tmp_path), hypothesis_strategy=strategy,
                  hypothesis_frequency=0.05)
    states = result.journal.steady_states
    assert (states.before is not None, states.after is not None) == (before, after)
    assert bool(states.during) is (strategy in ("during-method-only", "continuously"))
    assert result.journal.deviated is after  # the method breaks the state


def test_runtime_block_sets_the_strategy_and_flags_override_it(tmp_path: Path) -> None:
    path = _experiment(tmp_path, runtime={"hypothesis": {"strategy": "before-method-only"},
                                          "rollbacks": {"strategy": "never"}})
    result = _run(path)
    assert result.journal.steady_states.after is None and result.journal.rollbacks == []
    assert result.exit_code == 0
    (tmp_path / "state.txt").write_text("ok")
    result = _run(path, hypothesis_strategy="default", rollback_strategy="always")
    assert result.journal.deviated and _names(result.journal.rollbacks) == ["undo"]


def test_fail_fast_stops_the_method_at_the_first_miss_during_it(tmp_path: Path) -> None:
    method = [
        {"type": "action", "name": "break", "provider": _call(
            "write_text", path=str(tmp_path / "state.txt"), text="!"),
         "pauses": {"after": 0.5}},
        {"type": "action", "name": "never-reached", "provider": _call(
            "write_text", path=str(tmp_path / "late.txt"), text="late")},
    ]
    result = _run(_experiment(tmp_path, method=method), hypothesis_strategy="during-method-only",
                  hypothesis_frequency=0.05, fail_fast=True)
    journal = result.journal
    assert journal.status == "failed" and not journal.deviated
    assert result.exit_code == 1 and result.judgement.verdict == "aborted"
    assert _names(journal.run) == ["break"]
    assert not (tmp_path / "late.txt").exists()
    assert any(not s.steady_state_met for s in journal.steady_states.during)
    # As CTK's default strategy: no rollbacks after a failed run; "always" plays them.
    assert journal.rollbacks == [] and "ended failed" in journal.chaoskit.rollbacks_why
    (tmp_path / "state.txt").write_text("ok")
    again = _run(_experiment(tmp_path, method=method), hypothesis_strategy="during-method-only",
                 hypothesis_frequency=0.05, fail_fast=True, rollback_strategy="always")
    assert _names(again.journal.rollbacks) == ["undo"]


def test_during_misses_without_fail_fast_do_not_fail_the_run(tmp_path: Path) -> None:
    method = [{"type": "action", "name": "break", "pauses": {"after": 0.3},
               "provider": _call("write_text", path=str(tmp_path / "state.txt"), text="!")}]
    result = _run(_experiment(tmp_path, method=method), hypothesis_strategy="during-method-only",
                  hypothesis_frequency=0.05)
    assert (result.journal.status, result.journal.deviated, result.exit_code) == (
        "completed", False, 0)
    assert any("checks during the method were not met" in r for r in result.judgement.reasons)


def test_background_activities_run_beside_the_method_and_are_waited_for(tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    method = [
        {"type": "action", "name": "slow", "background": True, "pauses": {"before": 0.3},
         "provider": _call("write_text", path=str(marks), text="slow;")},
        {"type": "action", "name": "quick",
         "provider": _call("write_text", path=str(marks), text="quick;")},
    ]
    result = _run(_experiment(tmp_path, method=method))
    assert marks.read_text() == "quick;slow;"
    assert sorted(_names(result.journal.run)) == ["quick", "slow"]


def test_configuration_secrets_and_substitution_reach_python_functions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTK_UNIT_PORT", "8080")
    monkeypatch.setenv("CTK_UNIT_TOKEN", "s3cret")
    method = [{"type": "probe", "name": "echo",
               "provider": {**_call("echo", message="port ${port} for ${user}"),
                            "secrets": ["api"]}}]
    path = _experiment(
        tmp_path, method=method,
        configuration={"port": {"type": "env", "key": "CTK_UNIT_PORT", "env_var_type": "int"},
                       "user": "jane"},
        secrets={"api": {"token": {"type": "env", "key": "CTK_UNIT_TOKEN"}, "inline": "x"},
                 "other": {"hidden": "y"}})
    journal = _run(path).journal
    output = journal.run[0].output
    assert journal.experiment["secrets"] == {
        "api": {"token": {"type": "env", "key": "CTK_UNIT_TOKEN"}, "inline": "***"},
        "other": {"hidden": "***"}}  # inline values masked (CTK writes them out)
    assert isinstance(output, dict)
    assert output["message"] == "port 8080 for jane"
    assert output["configuration"] == {"port": 8080, "user": "jane"}
    assert output["secrets"] == {"token": "s3cret", "inline": "x"}


def test_a_missing_environment_variable_is_bad_input_before_anything_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CTK_UNIT_MISSING", raising=False)
    path = _experiment(tmp_path, configuration={"x": {"type": "env", "key": "CTK_UNIT_MISSING"}})
    with pytest.raises(ConfigError, match=re.escape("configuration.x: environment variable "
                                                    "CTK_UNIT_MISSING is not set and has no "
                                                    "default")):
        _run(path)
    assert (tmp_path / "state.txt").read_text() == "ok"


@pytest.mark.parametrize(("provider", "message"), [
    ({"type": "python", "module": "tests.unit.ctk.nope", "func": "f"},
     "method[0].provider: cannot import tests.unit.ctk.nope"),
    (_call("read_text", wrong=1), "read_text: missing a required argument: 'path'"),
    ({"type": "process", "path": "/no/such/program"},
     "method[0].provider: path '/no/such/program' cannot be found"),
    ({"type": "http", "url": "http://192.0.2.1/"},
     "'192.0.2.1' is not this machine"),
])
def test_preflight_refuses_what_cannot_run(tmp_path: Path, provider: dict[str, Any],
                                           message: str) -> None:
    path = _experiment(tmp_path, method=[{"type": "action", "name": "a", "provider": provider}])
    with pytest.raises(ConfigError, match=re.escape(message)):
        _run(path)


def test_the_chaoskit_extension_allows_a_host(tmp_path: Path) -> None:
    from chaoskit.ctk.preflight import preflight

    path = _experiment(tmp_path, method=[{"type": "probe", "name": "a", "provider": {
        "type": "http", "url": "http://${host}/"}}],
        configuration={"host": "staging.internal"},
        extensions=[{"name": "chaoskit", "allow_hosts": ["staging.internal"]}])
    preflight(load_ctk(path), {"host": "staging.internal"}, {})


def test_a_ref_runs_the_named_activity_again(tmp_path: Path) -> None:
    method = [{"type": "action", "name": "break", "provider": _call(
        "write_text", path=str(tmp_path / "state.txt"), text="!")}, {"ref": "break"},
        {"ref": "state"}]
    result = _run(_experiment(tmp_path, method=method))
    assert _names(result.journal.run) == ["break", "break", "state"]
    assert result.journal.run[2].output == "ok!!"


def test_a_probe_tolerance_gets_the_reading_as_value(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("7")
    path = _experiment(tmp_path, method=[])
    data = json.loads(path.read_text())
    data["steady-state-hypothesis"]["probes"] = [{
        "type": "probe", "name": "n", "provider": _call("read_text", path=str(tmp_path / "n.txt")),
        "tolerance": {"type": "probe", "name": "in-range",
                      "provider": _call("must_be_in_range", a=6, b=8)}}]
    path.write_text(json.dumps(data))
    assert _run(path).exit_code == 0
    (tmp_path / "n.txt").write_text("9")
    assert _run(path).exit_code == 3


def test_no_hypothesis_is_just_exploring(tmp_path: Path) -> None:
    path = _experiment(tmp_path)
    data = json.loads(path.read_text())
    del data["steady-state-hypothesis"]
    path.write_text(json.dumps(data))
    result = _run(path)
    assert (result.journal.status, result.exit_code) == ("completed", 0)
    assert _names(result.journal.run) == ["break"] and _names(result.journal.rollbacks) == ["undo"]


def test_an_error_of_chaoskit_itself_is_exit_4_not_a_verdict_on_the_system(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chaoskit.ctk.activity import Executor

    def broken(self: Executor, probes: list[Any]) -> Any:
        raise RuntimeError("engine bug")

    monkeypatch.setattr(Executor, "hypothesis", broken)
    result = _run(_experiment(tmp_path))
    assert (result.journal.status, result.exit_code) == ("aborted", 4)
    assert result.judgement.reasons == (
        "chaoskit could not carry out the run: RuntimeError: engine bug",)


def test_the_cli_runs_validates_and_refuses_ctk_flags_on_chaoskit_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chaoskit.cli import main

    path = _experiment(tmp_path)
    assert main(["run", str(path), "--reports", str(tmp_path / "reports"),
                 "--rollback-strategy", "never"]) == 1
    out = capsys.readouterr().out
    assert "rollbacks not played: rollback strategy never" in out
    assert "→ chaoskit verdict deviated (exit 1)" in out
    assert main(["validate", str(path)]) == 0
    assert "ok (Chaos Toolkit experiment; 0 ignored)" in capsys.readouterr().out
    native = tmp_path / "native.yaml"
    native.write_text("title: t\nsteady_state: []\n")
    assert main(["run", str(native), "--fail-fast"]) == 2
    assert "--fail-fast: for Chaos Toolkit experiments only" in capsys.readouterr().err


def test_var_replaces_declared_configuration_as_chaos_run_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chaoskit.cli import main

    (tmp_path / "other.txt").write_text("ok")
    path = _experiment(tmp_path, method=[], configuration={"file": str(tmp_path / "state.txt")})
    data = json.loads(path.read_text())
    data["steady-state-hypothesis"]["probes"][0]["provider"]["arguments"]["path"] = "${file}"
    path.write_text(json.dumps(data))
    (tmp_path / "state.txt").write_text("broken")
    reports = ["--reports", str(tmp_path / "reports")]
    assert main(["run", str(path), *reports]) == 3
    assert main(["run", str(path), *reports, "--var", f"file={tmp_path / 'other.txt'}",
                 "--var", "undeclared:int=1"]) == 0
    assert main(["run", str(path), *reports, "--var", "port:int=eighty"]) == 2
    assert "--var 'port:int=eighty': invalid literal" in capsys.readouterr().err
