"""Judge from the history alone: a finished run, or a system a test drove.

Precedence for a run, strongest first: interrupted > error > not_steady >
aborted > deviated > passed. A system driven by tests (the pytest plugin's
``ChaosSystem``) has no baseline and no schedule: its checks are the
hypothesis, so error > deviated > passed. Each reason is one line a person
can act on.

Readings are judged again against the tolerance stored with them
(``ProbeReading.holds``), so a journal read back later gets the same verdict.
"""

from __future__ import annotations

from chaoskit.model.experiment import Experiment
from chaoskit.model.history import (
    FaultEvent,
    GuardrailBreached,
    History,
    Interrupted,
    Phase,
    ProbeReading,
    Recovery,
    RunError,
)
from chaoskit.model.verdict import Judgement, Judging, Verdict


def judge_as(judging: Judging, experiment: Experiment, history: History) -> Judgement:
    """The verdict by the rules the history was made under (a journal says which)."""
    return judge(experiment, history) if judging is Judging.EXPERIMENT else judge_checks(history)


def judge(experiment: Experiment, history: History) -> Judgement:
    """The verdict of a run and why."""
    for rule in (_interrupted, _error, _not_steady, _aborted, _deviated):
        judgement = rule(experiment, history)
        if judgement is not None:
            return judgement
    return Judgement(verdict=Verdict.PASSED, reasons=_passed_reasons(history))


def judge_checks(history: History) -> Judgement:
    """The verdict of a system driven by tests: a failed step is an error, a failed check a
    deviation."""
    errors = _errors(history)
    if errors:
        return Judgement(verdict=Verdict.ERROR, reasons=tuple(errors))
    readings = [r for r in history.of_type(ProbeReading) if r.role == "steady_state"]
    failed = [f"{r.detail or r.phase}: {r.name}: {_value(r.value)}, expected {r.expected}"
              for r in readings if not r.holds]
    if failed:
        return Judgement(verdict=Verdict.DEVIATED, reasons=tuple(failed))
    count = len(readings)
    return Judgement(verdict=Verdict.PASSED,
                     reasons=(f"{count} steady-state reading{'s' * (count != 1)} held",))


def _errors(history: History) -> list[str]:
    reasons = [f"{e.phase or 'run'}: {e.message}" for e in history.of_type(RunError)]
    reasons += [f"{e.label}: {e.step.words}: {e.detail}"
                for e in history.of_type(FaultEvent) if e.step.failed]
    return reasons


def _interrupted(experiment: Experiment, history: History) -> Judgement | None:
    events = history.of_type(Interrupted)
    if not events:
        return None
    return Judgement(verdict=Verdict.INTERRUPTED,
                     reasons=(f"interrupted by {events[0].signal}; every fault was reverted",))


def _error(experiment: Experiment, history: History) -> Judgement | None:
    reasons = _errors(history)
    if reasons:
        return Judgement(verdict=Verdict.ERROR, reasons=tuple(reasons))
    if not _readings(history, Phase.BASELINE):
        return Judgement(verdict=Verdict.ERROR, reasons=("the baseline was never measured",))
    return None


def _not_steady(experiment: Experiment, history: History) -> Judgement | None:
    failed = [r for r in _readings(history, Phase.BASELINE) if not r.holds]
    if not failed:
        return None
    return Judgement(
        verdict=Verdict.NOT_STEADY,
        reasons=(*(f"before injection: {_describe(r)}" for r in failed),
                 "nothing was injected"),
    )


def _aborted(experiment: Experiment, history: History) -> Judgement | None:
    breaches = history.of_type(GuardrailBreached)
    if not breaches:
        return None
    return Judgement(
        verdict=Verdict.ABORTED,
        reasons=tuple(
            f"guardrail {b.name} breached: {_value(b.value)} not {b.expected or b.tolerance}"
            f"{f' ({b.detail})' if b.compare is not None else ''}; reverted at once"
            for b in breaches
        ),
    )


def _deviated(experiment: Experiment, history: History) -> Judgement | None:
    reasons = [f"during the fault: {_describe(r)}"
               for r in _readings(history, Phase.OBSERVE) if not r.holds]
    recoveries = history.of_type(Recovery)
    if experiment.method and not recoveries:
        reasons.append("recovery was never measured")
    for recovery in recoveries:
        if recovery.seconds is None:
            reasons.append(f"the steady state did not return within {recovery.within:g}s")
    verify = _readings(history, Phase.VERIFY)
    if experiment.method and not verify and not reasons:
        reasons.append("the steady state was not verified after the fault")
    reasons += [f"after the fault: {_describe(r)}" for r in verify if not r.holds]
    return Judgement(verdict=Verdict.DEVIATED, reasons=tuple(reasons)) if reasons else None


def _passed_reasons(history: History) -> tuple[str, ...]:
    recoveries = [r.seconds for r in history.of_type(Recovery) if r.seconds is not None]
    reasons = ["the steady state held before, during and after every fault"]
    if recoveries:
        reasons.append(f"time to recover: {max(recoveries):.1f}s")
    return tuple(reasons)


def _readings(history: History, phase: Phase) -> list[ProbeReading]:
    return [r for r in history.of_type(ProbeReading)
            if r.phase == phase and r.role == "steady_state"]


def _describe(reading: ProbeReading) -> str:
    detail = f" ({reading.detail})" if reading.detail else ""
    return f"{reading.name} = {_value(reading.value)}, expected {reading.expected}{detail}"


def _value(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"
