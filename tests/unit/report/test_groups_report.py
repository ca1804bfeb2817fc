"""Reports of a run with control and experiment groups (Netflix ChAP).

The journal here is the Gorilla fixture's run made with ``groups: {control: true}``:
two deployments whose load samples arrive as two streams (experiment and
control), compared steady-state probes and a compared guardrail. The experiment
group loses 7 % of its plays while its zone is out (retries switched off); the
control group, the same system beside it, does not. Every report must show both
groups and say the comparison as "experiment X vs control Y, p ...".
"""

from __future__ import annotations

import io
import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from chaoskit.checks.compare import p_text
from chaoskit.checks.verdict import judge
from chaoskit.cli import main
from chaoskit.model.experiment import Groups, Guardrail, SteadyStateProbe
from chaoskit.model.history import AnyEvent, Deployed, History, LoadSample, Phase, ProbeReading
from chaoskit.model.probes import Compare, LoadProbe
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.verdict import Verdict
from chaoskit.report import write_reports
from chaoskit.report.html import render_html
from chaoskit.report.journal import Journal, RunOptionsRecord, read_journal
from chaoskit.report.junit import render_junit
from chaoskit.report.live import LiveView
from chaoskit.report.plain import PlainView
from chaoskit.report.rejudge import rejudge
from chaoskit.report.tables import ALPHA, TIMES
from tests.unit.report.fixtures import FAULT_LABEL, T0, gorilla_journal, load_sample

SUCCESS = Compare(max_drop=0.01)
LATENCY = Compare(max_ratio=3)
TEST = "Mann\u2013Whitney U, one-sided, 20 s each"


def _compared(t: float, phase: Phase, role: str, name: str, value: float, control: float,
              compare: Compare, p_value: float, tolerance: Tolerance | None = None
              ) -> ProbeReading:
    # The runner's detail: the fault's label, then the comparison's own sentence.
    said = f"experiment {value:.3f} vs control {control:.3f}, {p_text(p_value)} ({TEST})"
    during = f"during {FAULT_LABEL}; " if phase == Phase.OBSERVE else ""
    reading = ProbeReading(t=T0 + t, phase=phase, role=role, name=name, value=value, ok=True,
                           tolerance=tolerance, compare=compare, control=control,
                           p_value=p_value, test=TEST, values=(value,) * 5,
                           control_values=(control,) * 5, detail=during + said)
    return reading.model_copy(update={"ok": reading.holds})


def grouped_journal(defended: bool = False) -> Journal:
    """The Gorilla run with a control group; without retries unless ``defended``."""
    base = gorilla_journal()
    experiment = base.experiment.model_copy(update={
        "groups": Groups(control=True),
        "steady_state": (
            SteadyStateProbe(name="play starts succeed",
                             probe=LoadProbe(probe="load.success_ratio", window=10),
                             compare=SUCCESS),
            SteadyStateProbe(name="p99 stays low", probe=LoadProbe(probe="load.p99_ms", window=10),
                             tolerance=Tolerance(max=500), compare=LATENCY),
        ),
        "guardrails": (Guardrail(probe=LoadProbe(probe="load.success_ratio", window=5),
                                 compare=Compare(max_drop=0.5)),),
    })
    during = 0.9995 if defended else 0.9312
    events: list[AnyEvent] = []
    for event in base.history.events:
        if isinstance(event, ProbeReading):
            continue  # replaced by the compared readings below
        if isinstance(event, LoadSample):
            events += _both_groups(event, defended)
            continue
        events.append(event)
    ss, obs = "steady_state", Phase.OBSERVE
    instances = ("edge-0", "gateway-us-east-1a-0", "playback-us-east-1a-0")
    events += [
        Deployed(t=T0 + 1.2, group="experiment", instances=instances, seconds=1.2),
        Deployed(t=T0 + 1.9, group="control",
                 instances=tuple(f"control/{i}" for i in instances), seconds=0.7),
        _compared(17.0, Phase.BASELINE, ss, "play starts succeed", 1.0, 1.0, SUCCESS, 0.5),
        _compared(17.0, Phase.BASELINE, ss, "p99 stays low", 66.0, 64.0, LATENCY, 0.41,
                  Tolerance(max=500)),
        _compared(37.6, obs, ss, "play starts succeed", during, 0.9995, SUCCESS,
                  0.38 if defended else 0.0002),
        _compared(37.6, obs, ss, "p99 stays low", 150.0, 70.0, LATENCY, 0.003,
                  Tolerance(max=500)),
        _compared(41.0, Phase.RECOVER, "recovery", "play starts succeed", 0.9968, 0.9991,
                  SUCCESS, 0.2),
        _compared(51.0, Phase.VERIFY, ss, "play starts succeed", 0.9999, 1.0, SUCCESS, 0.5),
        _compared(51.0, Phase.VERIFY, ss, "p99 stays low", 71.0, 69.0, LATENCY, 0.45,
                  Tolerance(max=500)),
    ]
    events += [_compared(second + 0.05, obs, "guardrail", "guardrail load.success_ratio",
                         during, 1.0, Compare(max_drop=0.5), 0.001) for second in range(19, 38)]
    history = History(events=sorted(events, key=lambda e: e.t))
    disabled = () if defended else ("retries",)
    return base.model_copy(update={
        "experiment": experiment, "history": history, "judgement": judge(experiment, history),
        "options": RunOptionsRecord(platform="local", proxy="embedded", disabled=disabled),
    })


def _both_groups(sample: LoadSample, defended: bool) -> list[LoadSample]:
    """The fixture's second as the experiment group saw it, and the control's beside it."""
    second = sample.second - int(T0)
    experiment = sample.model_copy(update={"group": "experiment"})
    if not defended and 18 <= second < 39:
        failures = sample.total.requests * 7 // 100
        experiment = experiment.model_copy(update={"total": sample.total.model_copy(
            update={"failures": failures, "good": sample.total.requests - failures})})
    # The control never loses its zone: the fixture's calm seconds, a little later.
    calm = load_sample(5 + second % 10)
    control = calm.model_copy(update={"group": "control", "t": sample.t + 0.01,
                                      "second": sample.second})
    return [experiment, control]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _text(html: str) -> str:
    """The page's text, tags removed and spaces collapsed, as a reader sees it."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


# -- the journal --------------------------------------------------------------------------


def test_the_fixture_deviates_by_the_comparison_and_passes_when_defended() -> None:
    deviated, passed = grouped_journal(), grouped_journal(defended=True)
    assert deviated.judgement.verdict == Verdict.DEVIATED
    assert passed.judgement.verdict == Verdict.PASSED
    # The p99 rose to 2.1x the control's, significantly but within the 3x margin: only
    # the success ratio deviates.
    assert any("play starts succeed" in r for r in deviated.judgement.reasons)
    assert not any("p99 stays low" in r for r in deviated.judgement.reasons)


def test_compared_readings_and_groups_round_trip_through_journal_json(tmp_path: Path) -> None:
    journal = grouped_journal()
    write_reports(tmp_path, journal)
    back = read_journal(tmp_path / "journal.json")
    assert back == journal
    document = json.loads((tmp_path / "journal.json").read_text())
    assert document["schema_version"] == 3
    assert document["experiment"]["groups"]["control"] is True
    probe = next(e for e in document["history"]["events"] if e["type"] == "probe"
                 and e["phase"] == "observe" and e["role"] == "steady_state")
    assert probe["value"] == 0.9312 and probe["control"] == 0.9995
    assert probe["p_value"] == 0.0002 and probe["test"] == TEST
    assert probe["compare"]["max_drop"] == 0.01
    assert {e["group"] for e in document["history"]["events"] if e["type"] == "load"} == {
        "experiment", "control"}


def test_chaoskit_report_judges_compared_readings_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The recorded "ok" is not trusted: the verdict comes from the stored values, control
    # values and p-values, judged again by the comparison.
    write_reports(tmp_path, grouped_journal())
    path = tmp_path / "journal.json"
    document = json.loads(path.read_text())
    for event in document["history"]["events"]:
        if event["type"] == "probe":
            event["ok"] = True
    document["judgement"] = {"verdict": "passed", "reasons": []}
    path.write_text(json.dumps(document))
    assert rejudge(read_journal(path)).judgement.verdict == Verdict.DEVIATED
    assert main(["report", str(path)]) == 1
    out = capsys.readouterr().out
    assert "verdict: deviated" in out
    # ... and a difference too small to matter, or not significant, passes again.
    for event in document["history"]["events"]:
        if event["type"] == "probe" and event["name"] == "play starts succeed":
            event["p_value"] = 0.2
    path.write_text(json.dumps(document))
    assert rejudge(read_journal(path)).judgement.verdict == Verdict.PASSED


# -- report.html --------------------------------------------------------------------------


def test_both_groups_are_drawn_on_one_timeline_with_a_legend() -> None:
    html = render_html(grouped_journal())
    tags = _tags(html)
    series = [a for t, a in tags if t == "path" and "series" in (a.get("class") or "")]
    classes = sorted(a["class"] or "" for a in series)
    assert classes == ["series control"] * 3 + ["series experiment"] * 3
    # 60 seconds of each group: one point per second on every line.
    assert all(len(re.findall(r"[ML]", a["d"] or "")) == 60 for a in series)
    # One timeline: a single chart, the fault shaded once across both groups.
    assert sum(t == "svg" for t, _ in tags) == 1
    assert sum(t == "rect" and a.get("class") == "fault-window" for t, a in tags) == 1
    # Told apart by more than colour: the control's line is dashed and grey.
    control = next(a for a in series if a["class"] == "series control")
    experiment = next(a for a in series if a["class"] == "series experiment")
    assert control["stroke"] != experiment["stroke"]
    assert "svg .series.control { stroke-dasharray" in html
    legends = [a for t, a in tags if t == "g" and a.get("class") == "panel-legend"]
    assert len(legends) == 3
    text = _text(html)
    assert "experiment group" in text and "control group" in text


def test_the_experiment_dips_where_the_control_does_not() -> None:
    tags = _tags(render_html(grouped_journal()))

    def lowest(kind: str) -> float:
        # SVG y grows downwards: the success panel's lowest point has the largest y.
        path = next(a for t, a in tags if t == "path" and a.get("class") == f"series {kind}"
                    and _panel_of(tags, a) == "success")
        return max(float(y) for y in re.findall(r",([\d.]+)", path["d"] or ""))

    assert lowest("experiment") > lowest("control") + 20


def _panel_of(tags: list[tuple[str, dict[str, str | None]]], attrs: dict[str, str | None]
              ) -> str | None:
    panel = None
    for tag, a in tags:
        if tag == "g" and a.get("data-panel"):
            panel = a["data-panel"]
        if a is attrs:
            return panel
    return None


def test_compared_readings_say_both_values_and_p() -> None:
    html = render_html(grouped_journal())
    text = _text(html)
    assert "experiment 93.12% vs control 99.95%, p < 0.001" in text
    assert "experiment 150 ms vs control 70 ms, p = 0.003" in text
    assert TEST in text
    # Said once per reading, not again from the reading's detail; the fault's label stays.
    hypothesis = _text(html[html.index('id="steady-state-hypothesis"'):html.index('id="recovery"')])
    assert "experiment 0.931 vs control" not in hypothesis
    assert f"at +37.6 s; {TEST}; during {FAULT_LABEL}" in text
    # The expectation says the margin in the probe's unit.
    assert f"≤ 1 pt below control ({ALPHA} 0.05)" in text
    assert f"≤ 500 ms and ≤ 3{TIMES} control ({ALPHA} 0.05)" in text
    assert ">Expected</th>" in html and ">Tolerance</th>" not in html.split("Guardrails")[0]
    # Each compared reading on the chart: the experiment's dot and the control's ring.
    tags = _tags(html)
    dots = [a for t, a in tags if t == "circle" and "control" not in (a.get("class") or "")]
    rings = [a for t, a in tags if t == "circle" and "control" in (a.get("class") or "")]
    assert len(dots) == len(rings) == 6
    assert sum("failed" in (a.get("class") or "") for a in dots) == 1


def test_the_facts_and_guardrails_name_the_groups() -> None:
    text = _text(render_html(grouped_journal()))
    assert "Groupscontrol and experiment, two deployments" in text
    assert "Start-upexperiment 1.2 s (3 instances) · control 700 ms (3 instances)" in text
    assert "≤ 50 pt below control" in text
    assert "control 100.00% … 100.00%" in text


def test_the_hover_data_carries_both_groups() -> None:
    html = render_html(grouped_journal())
    match = re.search(r'<script type="application/json" id="series-data" '
                      r'data-groups="([^"]*)">(.*?)</script>', html)
    assert match is not None
    assert match.group(1) == "experiment,control"
    rows = json.loads(match.group(2))
    assert len(rows) == 60 and all(len(row) == 7 for row in rows)
    dip = next(row for row in rows if row[0] == pytest.approx(20.5, abs=1))
    assert dip[2] < dip[5]  # the experiment's success below the control's that second


def test_one_deployment_with_cohorts_draws_all_traffic_too() -> None:
    # FIT mode: one deployment, one Locust; each second a sample of all traffic (group "")
    # beside one per cohort. Absolute probes read all traffic, compared ones the cohorts.
    journal = grouped_journal()
    all_traffic = [e.model_copy(update={"group": ""}) for e in journal.history.events
                   if isinstance(e, LoadSample) and e.group == "experiment"]
    journal = journal.model_copy(update={
        "experiment": journal.experiment.model_copy(
            update={"groups": Groups(control=True, share=0.05)}),
        "history": History(events=sorted([*journal.history.events, *all_traffic],
                                         key=lambda e: e.t))})
    html = render_html(journal)
    classes = sorted(a.get("class") or "" for t, a in _tags(html)
                     if t == "path" and "series" in (a.get("class") or ""))
    assert classes == ["series all"] * 3 + ["series control"] * 3 + ["series experiment"] * 3
    assert 'data-groups="all traffic,experiment,control"' in html
    text = _text(html)
    assert "control and experiment cohorts of 5% of requests each (header X-Chaoskit-Cohort)" \
        in text
    assert "all traffic" in text


# -- junit.xml ----------------------------------------------------------------------------


def test_junit_carries_both_values_and_the_test() -> None:
    xml = render_junit(grouped_journal())
    assert ('message="play starts succeed: experiment 0.9312 vs control 0.9995, '
            f'p &lt; 0.001 ({TEST}), expected at most 0.01 below control') in xml
    # A passing compared probe says what it compared in its system-out.
    assert ("p99 stays low: experiment 150 vs control 70, p = 0.003 "
            f"({TEST}), expected &lt;= 500 and {LATENCY.describe()}") in xml
    assert '<property name="groups" value="control,experiment" />' in xml
    assert '<property name="deployments" value="2" />' in xml
    assert '<property name="startup_control" value="0.700" />' in xml


def test_junit_of_a_defended_run_passes_with_both_values() -> None:
    xml = render_junit(grouped_journal(defended=True))
    assert 'failures="0"' in xml
    assert "play starts succeed: experiment 0.9995 vs control 0.9995, p = 0.380" in xml


# -- the terminal -------------------------------------------------------------------------


def test_plain_output_shows_each_group_and_compared_values(
        capsys: pytest.CaptureFixture[str]) -> None:
    journal = grouped_journal()
    view = PlainView(journal.experiment.title)
    for event in journal.history.events:
        view.event(event)
    lines = capsys.readouterr().out.splitlines()
    experiment = [line for line in lines if "load   experiment " in line]
    control = [line for line in lines if "load   control    " in line]
    assert len(experiment) == len(control) == 12  # 60 s of each, a line every 5 s
    assert "deploy control: 3 instances up in 0.7s" in "\n".join(lines)
    assert any("success 93.1" in line for line in experiment)
    assert not any("success 9" in line and "100.00%" not in line for line in control)
    assert any("probe  observe  play starts succeed: experiment 0.9312 vs control 0.9995, "
               "p < 0.001 [at most 0.01 below control] FAIL" in line for line in lines)


def test_the_live_view_shows_both_groups() -> None:
    journal = grouped_journal()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    view = LiveView(journal.experiment.title, expected_seconds=90, console=console)
    for event in journal.history.events:
        if event.t <= journal.started + 38:
            view.event(event)
    console.print(view.render())
    text = out.getvalue()
    assert re.search(r"experiment\s+\d+\.\d rps\s+success 93\.", text)
    assert re.search(r"control\s+\d+\.\d rps\s+success 100\.00%", text)
    assert "experiment 0.9312 vs control 0.9995, p < 0.001" in text
    assert "at most 0.01 below control" in text
