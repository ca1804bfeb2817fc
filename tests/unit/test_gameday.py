"""GameDays without processes: parsing and its errors, the failure policy, exit codes, the report.

Experiment steps are run by a fake ``run_loaded`` handing back the verdicts a
test scripts, so the sequencing is tested in milliseconds.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaoskit import cli
from chaoskit.errors import ConfigError
from chaoskit.gameday import (
    GameDay,
    GameDayRecord,
    Step,
    StepRecord,
    load_gameday,
    render_gameday_html,
    run_gameday,
)
from chaoskit.gameday import run as gameday_run
from chaoskit.model.experiment import Experiment
from chaoskit.model.verdict import Judgement, Verdict
from chaoskit.runner import RunOptions, RunResult

FIXTURE = Path(__file__).parent / "fixtures" / "experiment.yaml"


def write(tmp_path: Path, text: str, name: str = "gameday.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def gameday_yaml(steps: str, on_failure: str = "stop") -> str:
    return f"title: Test GameDay\non_failure: {on_failure}\nsteps:\n{steps}"


# -- parsing ----------------------------------------------------------------------------


def test_a_gameday_file_loads_with_its_steps_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, gameday_yaml(
        f"  - {{experiment: {FIXTURE}, name: Gorilla, disable: [retries],"
        " settings: {warmup: 2s}}\n"
        "  - pause: 1500ms\n"
        "  - checkpoint: |\n      Dashboards green?\n      Then go on.\n"
        f"  - {{experiment: {FIXTURE}, on_failure: continue}}\n"))
    gameday = load_gameday(path)
    assert [s.kind for s in gameday.steps] == ["experiment", "pause", "checkpoint", "experiment"]
    assert gameday.steps[0].disable == ("retries",)
    assert gameday.steps[0].settings == {"warmup": "2s"}
    assert gameday.steps[1].pause == 1.5
    assert gameday.steps[2].title == "Dashboards green?"
    assert gameday.steps[3].on_failure == "continue"
    assert gameday.source == str(path)


def test_experiment_paths_resolve_from_the_gameday_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "exp.yaml").write_text(FIXTURE.read_text().replace(
        "topology: topology.yaml", f"topology: {FIXTURE.parent / 'topology.yaml'}").replace(
        "load/streaming.py", str(FIXTURE.parent / "load" / "streaming.py")))
    path = write(tmp_path / "sub", gameday_yaml("  - experiment: exp.yaml\n"))
    assert load_gameday(path).steps[0].experiment == "exp.yaml"


@pytest.mark.parametrize(("steps", "line", "field", "message"), [
    ("  - pause: 1s\n  - {experiment: x.yaml, pause: 2s}\n", 5, "steps[1]",
     "a step is exactly one of experiment, pause or checkpoint; got experiment and pause"),
    ("  - pause: 1s\n  - {}\n", 5, "steps[1]", "got none of them"),
    ("  - {pause: 1s, disable: [retries]}\n", 4, "steps[0]",
     "disable only apply to an experiment step"),
    ("  - pause: soon\n", 4, "steps[0].pause", "expected a duration"),
    ("  - {checkpoint: go, colour: red}\n", 4, "steps[0].colour", "unknown field 'colour'"),
    ("  - pause: 1s\n  - experiment: nope.yaml\n", 5, "steps[1].experiment",
     "experiment file 'nope.yaml' not found"),
    (f"  - {{experiment: {FIXTURE}, disable: [retires]}}\n", 4, "steps[0].disable",
     "unknown defence 'retires'; expected some of circuit_breaker"),
    (f"  - experiment: {FIXTURE}\n    settings: {{warmup: soon}}\n", 5,
     "steps[0].settings.warmup", "expected a duration"),
    (f"  - experiment: {FIXTURE}\n    settings: {{colour: red}}\n", 5,
     "steps[0].settings.colour", "unknown setting 'colour'"),
])
def test_errors_name_file_line_and_field(tmp_path: Path, steps: str, line: int, field: str,
                                         message: str) -> None:
    path = write(tmp_path, gameday_yaml(steps))
    with pytest.raises(ConfigError) as caught:
        load_gameday(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:{line}: {field}: "), text
    assert message in text


def test_policy_and_structure_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r":2: on_failure: expected one of stop, continue"):
        load_gameday(write(tmp_path, "title: x\non_failure: retry\nsteps: [{pause: 1s}]\n"))
    with pytest.raises(ConfigError, match=r"steps: .*at least 1"):
        load_gameday(write(tmp_path, "title: x\nsteps: []\n"))
    with pytest.raises(ConfigError, match=r"aliases \(\*a\) are not allowed"):
        load_gameday(write(tmp_path, "title: &a x\nsteps: [{checkpoint: *a}]\n"))
    with pytest.raises(ConfigError, match=r"expected a \.yaml or \.yml GameDay file"):
        load_gameday(tmp_path / "gameday.py")


def test_an_experiment_files_own_error_keeps_its_own_line(tmp_path: Path) -> None:
    # Copied away from its topology: the experiment itself is wrong, on its own line 2.
    broken = write(tmp_path, FIXTURE.read_text(), "broken.yaml")
    path = write(tmp_path, gameday_yaml(f"  - experiment: {broken}\n"))
    with pytest.raises(ConfigError, match=r"broken\.yaml:2: topology: topology file "):
        load_gameday(path)


def test_the_cli_exits_2_on_a_bad_gameday_before_running_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, gameday_yaml("  - experiment: nope.yaml\n"))
    assert cli.main(["gameday", str(path), "--reports", str(tmp_path / "reports")]) == 2
    assert f"{path}:4: steps[0].experiment: experiment file 'nope.yaml' not found" in (
        capsys.readouterr().err)
    assert not (tmp_path / "reports").exists()


# -- running, with fake runs --------------------------------------------------------------


class FakeRuns:
    """Stands in for run_loaded: hands back scripted verdicts, records what was asked."""

    def __init__(self, verdicts: list[str]) -> None:
        self.verdicts = list(verdicts)
        self.options: list[RunOptions] = []

    def __call__(self, experiment: Experiment, options: RunOptions) -> RunResult:
        """Stands in for ``run_experiment``, which turns Ctrl-C into an interrupted run."""
        self.options.append(options)
        verdict = Verdict(self.verdicts.pop(0))
        run_dir = options.reports_dir / f"run-{len(self.options)}"
        run_dir.mkdir(parents=True)
        reasons = () if verdict == Verdict.PASSED else (f"because {verdict.value}",)
        return RunResult(judgement=Judgement(verdict=verdict, reasons=reasons),
                         run_dir=run_dir, time_to_recover=1.25)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRuns]:
    runs = FakeRuns([])
    monkeypatch.setattr(gameday_run, "run_experiment", runs)
    yield runs


def experiment_step(**fields: object) -> Step:
    return Step(experiment=str(FIXTURE), **fields)


def run(gameday: GameDay, tmp_path: Path, **kwargs: object) -> tuple[GameDayRecord, str]:
    out = io.StringIO()
    result = run_gameday(gameday, reports_dir=tmp_path / "reports", out=out,
                         assume_yes=True, **kwargs)  # type: ignore[arg-type]
    saved = GameDayRecord.model_validate_json(result.summary.read_text())
    assert saved == result.record
    assert result.report.is_file()
    return result.record, out.getvalue()


def verdicts(record: GameDayRecord) -> list[str]:
    return [s.verdict for s in record.steps]


def test_all_passed_is_exit_0_and_each_run_is_linked(fake: FakeRuns, tmp_path: Path) -> None:
    fake.verdicts = ["passed", "passed"]
    gameday = GameDay(title="ok", steps=(experiment_step(disable=("retries",)),
                                         Step(pause=0.01), experiment_step()))
    record, output = run(gameday, tmp_path, platform="local")
    assert verdicts(record) == ["passed", "done", "passed"]
    assert record.exit_code == 0 and record.stopped_after is None
    assert [s.run_dir for s in record.steps] == ["run-1", None, "run-2"]
    assert record.steps[0].time_to_recover == 1.25
    assert fake.options[0].disabled == frozenset({"retries"})
    # Runs live inside the GameDay's folder, so the report links to them relatively.
    assert all(o.reports_dir == fake.options[0].reports_dir for o in fake.options)
    assert "step 2/3: pause" in output and "passed (exit 0)" in output


def test_stop_skips_the_rest_after_a_failing_step(fake: FakeRuns, tmp_path: Path) -> None:
    fake.verdicts = ["deviated"]
    gameday = GameDay(title="stop", steps=(experiment_step(), Step(checkpoint="next"),
                                           experiment_step()))
    record, output = run(gameday, tmp_path)
    assert verdicts(record) == ["deviated", "skipped", "skipped"]
    assert record.exit_code == 1 and record.stopped_after == 0
    assert len(fake.options) == 1
    assert "stopping: step 1 deviated and the policy is on_failure: stop" in output
    assert "because deviated" in output


def test_continue_runs_everything_and_exits_with_the_worst(fake: FakeRuns,
                                                            tmp_path: Path) -> None:
    fake.verdicts = ["deviated", "not_steady", "passed", "aborted"]
    gameday = GameDay(title="go on", on_failure="continue",
                      steps=tuple(experiment_step() for _ in range(4)))
    record, _ = run(gameday, tmp_path)
    assert verdicts(record) == ["deviated", "not_steady", "passed", "aborted"]
    assert record.verdict == Verdict.NOT_STEADY and record.exit_code == 3


def test_a_steps_own_policy_overrides_the_gamedays(fake: FakeRuns, tmp_path: Path) -> None:
    fake.verdicts = ["deviated", "error"]
    gameday = GameDay(title="mixed", on_failure="stop", steps=(
        experiment_step(on_failure="continue"), experiment_step(), experiment_step()))
    record, _ = run(gameday, tmp_path)
    assert verdicts(record) == ["deviated", "error", "skipped"]
    assert record.exit_code == 4


def test_an_interrupted_run_stops_even_a_continue_gameday(fake: FakeRuns,
                                                         tmp_path: Path) -> None:
    fake.verdicts = ["interrupted"]
    gameday = GameDay(title="ctrl-c", on_failure="continue",
                      steps=(experiment_step(), experiment_step()))
    record, _ = run(gameday, tmp_path)
    assert verdicts(record) == ["interrupted", "skipped"]
    assert record.exit_code == 130


def test_checkpoints_never_block_without_a_terminal_and_can_stop_with_one(
    fake: FakeRuns, tmp_path: Path
) -> None:
    fake.verdicts = ["passed"]
    asked: list[str] = []

    def never(question: str) -> str:
        asked.append(question)
        raise AssertionError("must not ask")

    steps = (Step(checkpoint="Is the on-call engineer in the room?\nPage them if not."),
             experiment_step())
    record, output = run(GameDay(title="cp", steps=steps), tmp_path, prompt=never)
    assert verdicts(record) == ["done", "passed"] and not asked
    assert "    Is the on-call engineer in the room?\n    Page them if not." in output

    out = io.StringIO()
    stopped = run_gameday(GameDay(title="cp", steps=steps), reports_dir=tmp_path / "r2",
                          out=out, prompt=lambda question: "stop")
    assert verdicts(stopped.record) == ["interrupted", "skipped"]
    assert stopped.exit_code == 130


# -- the report --------------------------------------------------------------------------


def record_with(steps: tuple[StepRecord, ...], **fields: object) -> GameDayRecord:
    return GameDayRecord(title="Netflix <GameDay>", on_failure="stop", started=1000.0,
                         ended=1100.0, steps=steps, **fields)


FAKE_STEPS = (
    StepRecord(index=0, kind="experiment", name="Chaos Monkey", verdict="passed",
               started=1000.0, ended=1040.0, time_to_recover=1.5, run_dir="run a/x",
               experiment="experiments/netflix_instance.yaml"),
    StepRecord(index=1, kind="checkpoint", name="Look at the dashboards", verdict="done",
               started=1040.0, ended=1041.0, text="Look at the dashboards\n<b>now</b>"),
    StepRecord(index=2, kind="experiment", name="Chaos Gorilla", verdict="deviated",
               started=1041.0, ended=1100.0, run_dir="run-b", exit_code=1,
               reasons=("during the fault: play starts 80% not >= 0.99",)),
    StepRecord(index=3, kind="experiment", name="Chaos Kong", verdict="skipped"),
)


def test_the_report_is_self_contained_and_links_each_run() -> None:
    html = render_gameday_html(record_with(FAKE_STEPS, stopped_after=2))
    assert html.startswith("<!DOCTYPE html>")
    # Nothing fetched: no external script, stylesheet, font or image.
    assert not re.search(r"<(script|link|img|iframe)[^>]*(src|href)=", html)
    assert "http://" not in html and "https://" not in html
    assert 'href="run%20a/x/report.html"' in html and 'href="run-b/report.html"' in html
    assert "Deviated" in html and "1 of 3 experiments passed" in html
    assert "stopped after step 3 (Chaos Gorilla: deviated); 1 step(s) skipped" in html
    assert "during the fault: play starts 80% not &gt;= 0.99" in html
    assert "1.5 s" in html  # time to recover
    # User text is escaped, never markup.
    assert "Netflix &lt;GameDay&gt;" in html and "&lt;b&gt;now&lt;/b&gt;" in html
    assert "<b>now</b>" not in html


def test_the_summary_verdict_is_the_worst_and_all_passed_is_green() -> None:
    record = record_with(FAKE_STEPS[:2])
    assert record.verdict == Verdict.PASSED and record.exit_code == 0
    assert 'data-verdict="passed"' in render_gameday_html(record)
    data = json.loads(record_with(FAKE_STEPS).model_dump_json())
    assert [s["verdict"] for s in data["steps"]] == ["passed", "done", "deviated", "skipped"]
    assert record_with(FAKE_STEPS).exit_code == 1
