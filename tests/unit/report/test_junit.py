"""junit.xml: one testcase per probe and phase; failures carry the reading and the tolerance."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from chaoskit.model.history import (
    AnyEvent,
    GuardrailBreached,
    History,
    Interrupted,
    Phase,
    ProbeReading,
    Recovery,
)
from chaoskit.model.verdict import Judgement, Verdict
from chaoskit.report.journal import Journal
from chaoskit.report.junit import render_junit
from tests.unit.report.fixtures import T0, gorilla_journal


def _suite(journal: Journal) -> ET.Element:
    return ET.fromstring(render_junit(journal).encode())


def _cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in suite.iter("testcase")}


def _variant(events: list[AnyEvent], verdict: Verdict, *reasons: str) -> Journal:
    base = gorilla_journal()
    return Journal.model_validate({
        **base.model_dump(), "history": History(events=events).model_dump(),
        "judgement": Judgement(verdict=verdict, reasons=reasons).model_dump(),
    })


def test_a_passed_run_has_one_passing_testcase_per_probe_and_phase() -> None:
    suite = _suite(gorilla_journal())
    assert suite.tag == "testsuite"
    assert suite.attrib["name"] == "Streaming survives the loss of one zone (Chaos Gorilla)"
    assert list(_cases(suite)) == [
        "baseline: play starts succeed", "baseline: p99 stays low",
        "during: play starts succeed", "during: p99 stays low",
        "verify: play starts succeed", "verify: p99 stays low",
        "recovery", "guardrail load.success_ratio",
    ]
    assert (suite.attrib["tests"], suite.attrib["failures"], suite.attrib["errors"],
            suite.attrib["skipped"]) == ("8", "0", "0", "0")
    assert all(len(case) == 0 for case in suite.iter("testcase"))
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert properties["verdict"] == "passed"
    assert properties["time_to_recover"] == "3.200"


def test_a_deviation_is_a_failure_with_reading_and_tolerance() -> None:
    events: list[AnyEvent] = [e for e in gorilla_journal().history.events
                              if not (isinstance(e, ProbeReading) and e.phase == Phase.VERIFY
                                      and e.name == "p99 stays low")]
    events.append(ProbeReading(t=T0 + 51, phase=Phase.VERIFY, role="steady_state",
                               name="p99 stays low", value=812.0, ok=False,
                               tolerance="<= 500"))
    suite = _suite(_variant(events, Verdict.DEVIATED, "after the fault: p99 stays low = 812"))
    failure = _cases(suite)["verify: p99 stays low"].find("failure")
    assert failure is not None
    assert failure.attrib["message"] == "p99 stays low = 812, expected <= 500"
    assert failure.attrib["type"] == "deviated"
    assert suite.attrib["failures"] == "1"


def test_not_steady_skips_what_was_never_measured() -> None:
    events: list[AnyEvent] = [
        ProbeReading(t=T0 + 17, phase=Phase.BASELINE, role="steady_state",
                     name="play starts succeed", value=0.91, ok=False, tolerance=">= 0.99"),
        ProbeReading(t=T0 + 17, phase=Phase.BASELINE, role="steady_state",
                     name="p99 stays low", value=80.0, ok=True, tolerance="<= 500"),
    ]
    suite = _suite(_variant(events, Verdict.NOT_STEADY, "nothing was injected"))
    cases = _cases(suite)
    assert cases["baseline: play starts succeed"].find("failure") is not None
    assert len(cases["baseline: p99 stays low"]) == 0
    skipped = cases["during: play starts succeed"].find("skipped")
    assert skipped is not None and "nothing was injected" in skipped.attrib["message"]
    assert cases["recovery"].find("skipped") is not None
    assert (suite.attrib["failures"], suite.attrib["skipped"]) == ("1", "5")


def test_a_guardrail_breach_fails_the_guardrail_case() -> None:
    events = [*gorilla_journal().history.events,
              GuardrailBreached(t=T0 + 20, name="guardrail load.success_ratio", value=0.42,
                                tolerance=">= 0.8")]
    failure = _cases(_suite(_variant(events, Verdict.ABORTED)))[
        "guardrail load.success_ratio"].find("failure")
    assert failure is not None and "0.42, expected >= 0.8" in failure.attrib["message"]


def test_no_recovery_is_a_failure() -> None:
    events: list[AnyEvent] = [e for e in gorilla_journal().history.events
                              if not isinstance(e, Recovery)]
    events.append(Recovery(t=T0 + 70, seconds=None, within=30))
    failure = _cases(_suite(_variant(events, Verdict.DEVIATED)))["recovery"].find("failure")
    assert failure is not None and "within 30s" in failure.attrib["message"]


def test_an_interruption_is_an_error_not_a_failure() -> None:
    events = [*gorilla_journal().history.events, Interrupted(t=T0 + 30, signal="SIGINT")]
    suite = _suite(_variant(events, Verdict.INTERRUPTED))
    error = _cases(suite)["run"].find("error")
    assert error is not None and error.attrib["message"] == "interrupted by SIGINT"
    assert (suite.attrib["errors"], suite.attrib["failures"]) == ("1", "0")


def test_markup_in_names_stays_text() -> None:
    suite = _suite(gorilla_journal(title='<b>"zone" & friends</b>'))
    assert suite.attrib["name"] == '<b>"zone" & friends</b>'
