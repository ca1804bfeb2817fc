"""``junit.xml``: the run as test results, so CI shows which part of the hypothesis broke.

One testsuite per run; one testcase per steady-state probe and phase
(``baseline: play starts succeed``, ``during: …``, ``verify: …``), one for
recovery, one per guardrail. Phases that never ran are *skipped* with the
reason (nothing is injected into a system that was not steady); run errors
and interruptions are JUnit *errors*, not failures, because they say nothing
about the system's resilience.

A compared probe (control and experiment groups) says both groups' values, the
test's p-value and the test in its message, and a passing one in its
``system-out``, so CI shows what "normal" was even when nothing failed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from chaoskit.model.history import (
    Deployed,
    GuardrailBreached,
    Interrupted,
    Phase,
    ProbeReading,
    Recovery,
    RunError,
)
from chaoskit.model.verdict import Verdict
from chaoskit.report.journal import Journal
from chaoskit.report.series import compared_text, fault_windows, reading_detail

# The three checks of the hypothesis, as named in test results.
CHECKED_PHASES = ((Phase.BASELINE, "baseline"), (Phase.OBSERVE, "during"),
                  (Phase.VERIFY, "verify"))


@dataclass(frozen=True)
class Outcome:
    """How one testcase ended: ``kind`` is "", "failure", "error" or "skipped"."""

    name: str
    kind: str = ""
    message: str = ""
    text: str = ""
    out: str = ""
    """The testcase's ``system-out``: what a passing compared probe measured."""


def render_junit(journal: Journal) -> str:
    """The run as a JUnit XML document (one testsuite)."""
    outcomes = [*_hypothesis(journal), *_recovery(journal), *_guardrails(journal),
                *_run_errors(journal)]
    classname = f"chaoskit.{journal.slug}"
    suite = ET.Element("testsuite", {
        "name": journal.experiment.title,
        "tests": str(len(outcomes)),
        "failures": str(sum(o.kind == "failure" for o in outcomes)),
        "errors": str(sum(o.kind == "error" for o in outcomes)),
        "skipped": str(sum(o.kind == "skipped" for o in outcomes)),
        "time": f"{journal.duration:.3f}",
        "timestamp": datetime.fromtimestamp(journal.started, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(journal):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for outcome in outcomes:
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": outcome.name,
                                                 "time": "0"})
        if outcome.kind:
            element = ET.SubElement(case, outcome.kind, {"message": outcome.message})
            if outcome.kind != "skipped":
                element.set("type", journal.judgement.verdict.value)
            element.text = outcome.text or None
        if outcome.out:
            ET.SubElement(case, "system-out").text = outcome.out
    out = ET.SubElement(suite, "system-out")
    out.text = "\n".join([f"verdict: {journal.judgement.verdict.value}",
                          *journal.judgement.reasons])
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _properties(journal: Journal) -> list[tuple[str, str]]:
    ttr = journal.time_to_recover
    properties = [
        ("verdict", journal.judgement.verdict.value),
        ("run_id", journal.run_id),
        ("chaoskit_version", journal.chaoskit_version),
        ("platform", journal.options.platform),
        ("proxy", journal.options.proxy),
        ("disabled", ",".join(journal.options.disabled)),
        ("time_to_recover", "" if ttr is None else f"{ttr:.3f}"),
    ]
    groups = journal.experiment.groups
    if groups.control:
        properties.append(("groups", "control,experiment"))
        properties.append(("deployments", str(groups.deployments)))
        if groups.share is not None:
            properties.append(("cohort_share", f"{groups.share:g}"))
    for deployed in journal.history.of_type(Deployed):
        properties.append((f"startup_{deployed.group}", f"{deployed.seconds:.3f}"))
    return properties


def _hypothesis(journal: Journal) -> list[Outcome]:
    readings = [r for r in journal.history.of_type(ProbeReading) if r.role == "steady_state"]
    outcomes = []
    for phase, word in CHECKED_PHASES:
        if phase == Phase.OBSERVE and not journal.experiment.method:
            continue
        if phase == Phase.OBSERVE and not journal.experiment.settings.check_during:
            continue
        for probe in journal.experiment.steady_state:
            name = f"{word}: {probe.name}"
            mine = [r for r in readings if r.phase == phase and r.name == probe.name]
            outcomes.append(_judge_readings(name, mine) if mine else
                            Outcome(name, "skipped", _why_not_measured(journal, phase)))
    return outcomes


def _judge_readings(name: str, readings: list[ProbeReading]) -> Outcome:
    failed = [r for r in readings if not r.ok]
    lines = [_describe(r) for r in readings]
    if not failed:
        compared = [line for r, line in zip(readings, lines, strict=True) if r.compare]
        return Outcome(name, text="", out="\n".join(compared))
    return Outcome(name, "failure", _describe(failed[0]), "\n".join(lines))


def _describe(reading: ProbeReading) -> str:
    own = reading_detail(reading)
    detail = f" ({own})" if own else ""
    if reading.compare is not None:
        test = f" ({reading.test})" if reading.test else ""
        return (f"{reading.name}: {compared_text(reading, _number)}{test}, "
                f"expected {reading.expected}{detail}")
    return f"{reading.name} = {_number(reading.value)}, expected {reading.expected}{detail}"


def _number(value: float | None) -> str:
    return "no data" if value is None else f"{value:.6g}"


def _why_not_measured(journal: Journal, phase: Phase) -> str:
    verdict = journal.judgement.verdict
    if verdict == Verdict.NOT_STEADY:
        return "not measured: the baseline did not hold, so nothing was injected"
    if verdict == Verdict.ABORTED:
        return "not measured: a guardrail aborted the run"
    if verdict == Verdict.INTERRUPTED:
        return "not measured: the run was interrupted"
    if verdict == Verdict.ERROR:
        return "not measured: the run ended in an error"
    return f"not measured: the run has no {phase.value} readings"


def _recovery(journal: Journal) -> list[Outcome]:
    if not journal.experiment.method:
        return []
    recoveries = journal.history.of_type(Recovery)
    if not recoveries:
        return [Outcome("recovery", "skipped", _why_not_measured(journal, Phase.RECOVER))]
    late = [r for r in recoveries if r.seconds is None]
    if late:
        return [Outcome("recovery", "failure",
                        f"the steady state did not return within {late[0].within:g}s")]
    worst = max(r.seconds or 0.0 for r in recoveries)
    return [Outcome("recovery", text=f"time to recover: {worst:.1f}s")]


def _guardrails(journal: Journal) -> list[Outcome]:
    breaches = journal.history.of_type(GuardrailBreached)
    outcomes = []
    for guardrail in journal.experiment.guardrails:
        # Unnamed guardrails are already called "guardrail <probe>".
        name = guardrail.name
        name = name if name.startswith("guardrail") else f"guardrail: {name}"
        mine = [b for b in breaches if b.name == guardrail.name]
        if not mine:
            outcomes.append(Outcome(name))
            continue
        first = mine[0]
        expected = first.expected or str(first.tolerance)
        detail = f" ({first.detail})" if first.detail else ""
        outcomes.append(Outcome(name, "failure",
                                f"breached: {_number(first.value)}, expected {expected}{detail}; "
                                "the run was aborted and every fault reverted"))
    return outcomes


def _run_errors(journal: Journal) -> list[Outcome]:
    history = journal.history
    problems = [f"{e.phase.value if e.phase else 'run'}: {e.message}"
                for e in history.of_type(RunError)]
    for window in fault_windows(history):
        problems += [f"{window.label}: {e.step.replace('_', ' ')}: {e.detail}"
                     for e in window.failed]
    interrupts = [f"interrupted by {e.signal}" for e in history.of_type(Interrupted)]
    if not problems and not interrupts:
        return []
    lines = problems + interrupts
    return [Outcome("run", "error", lines[0], "\n".join(lines))]
