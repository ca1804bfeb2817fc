"""The terminal view: concise plain lines for CI logs, and a live panel that renders."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from chaoskit.model.history import GuardrailBreached, RunError
from chaoskit.report.live import LiveView
from chaoskit.report.terminal import PlainView, make_view
from tests.unit.report.fixtures import gorilla_journal


def _plain_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    journal = gorilla_journal()
    view = make_view(journal.experiment.title, plain=True)
    view.start()
    for event in journal.history.events:
        view.event(event)
    view.stop(journal.judgement, Path("reports/run-1"))
    return capsys.readouterr().out.splitlines()


def test_plain_output_is_one_line_per_event_worth_reading(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = _plain_lines(capsys)
    assert lines[0] == "chaoskit: Streaming survives the loss of one zone (Chaos Gorilla)"
    assert "    0.0s  phase  setup" in lines
    assert "   17.1s  phase  inject" in lines
    assert ("   17.0s  probe  baseline play starts succeed = 1 [>= 0.99] ok") in lines
    assert any(line.startswith("   17.6s  fault  f0 zone_outage us-east-1a (terminate): inject "
                            "effective [gateway-us-east-1a-0,") for line in lines)
    assert "   41.0s  recovered in 3.2s" in lines
    assert lines[-4:] == [
        "PASSED  Streaming survives the loss of one zone (Chaos Gorilla)",
        "  - the steady state held before, during and after every fault",
        "  - time to recover: 3.2s",
        "report: reports/run-1/report.html",
    ]


def test_plain_output_stays_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _plain_lines(capsys)
    fault_lines = [line for line in lines if "  fault  " in line]
    assert len(fault_lines) == 4  # every step of the one fault
    load_lines = [line for line in lines if "  load  " in line]
    assert 10 <= len(load_lines) <= 13  # ~one every 5 s over 60 s, not one a second
    guard = [line for line in lines if "  guard " in line]
    assert len(guard) == 1  # 19 readings, all ok: only the first is news
    recovery = [line for line in lines if "  recov " in line]
    # the failing first check, its p99 partner, then the success probe turning ok
    assert [line.split()[-1] for line in recovery] == ["FAIL", "ok", "ok"]
    assert len(lines) < 50


def test_plain_view_reports_breaches_and_errors() -> None:
    out = io.StringIO()
    view = PlainView("t", out=out)
    view.event(GuardrailBreached(t=100.0, name="g", value=0.5, tolerance=">= 0.8"))
    view.event(RunError(t=101.5, phase=None, message="boom"))
    assert out.getvalue().splitlines()[1:] == [
        "    0.0s  ABORT  guardrail g breached: 0.5, expected >= 0.8; reverting",
        "    1.5s  ERROR  boom",
    ]


def test_make_view_is_plain_when_stdout_is_not_a_terminal() -> None:
    # Under pytest stdout is captured, so not a TTY.
    assert isinstance(make_view("t"), PlainView)
    assert isinstance(make_view("t", plain=False), LiveView)


def test_live_view_renders_phase_load_faults_and_probes() -> None:
    journal = gorilla_journal()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    view = LiveView(journal.experiment.title, expected_seconds=90, console=console)
    # Feed up to the middle of the fault window, then draw what a person would see.
    middle = journal.started + 30
    for event in journal.history.events:
        if event.t <= middle:
            view.event(event)
    console.print(view.render())
    view.stop(journal.judgement, Path("reports/run-1"))
    text = out.getvalue()
    assert "observe" in text
    assert "rps" in text and "success" in text
    assert "f0 zone_outage us-east-1a (terminate)" in text and "3 targets" in text
    assert "play starts succeed" in text and "guardrail load.success_ratio" in text
    assert "left" in text
    assert "PASSED" in text and "report: reports/run-1/report.html" in text


@pytest.mark.parametrize(("until", "shown"), [(17.3, "injecting"), (30.0, "in effect"),
                                              (38.0, "reverting"), (45.0, "none active")])
def test_live_view_follows_each_fault_step(until: float, shown: str) -> None:
    journal = gorilla_journal()
    view = LiveView("t", console=Console(file=io.StringIO()))
    view.start = lambda: None  # type: ignore[method-assign]  # draw on demand only
    for event in journal.history.events:
        if event.t <= journal.started + until:
            view.event(event)
    out = io.StringIO()
    Console(file=out, width=140, color_system=None).print(view.render())
    assert shown in out.getvalue()
