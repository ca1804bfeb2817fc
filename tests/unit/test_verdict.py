"""The verdict is a pure function of the history: each rule, and their precedence."""

from __future__ import annotations

from chaoskit.checks.verdict import judge, judge_as, judge_checks
from chaoskit.model import (
    Experiment,
    FaultEvent,
    GuardrailBreached,
    History,
    Interrupted,
    Phase,
    ProbeReading,
    Recovery,
    RunError,
    Verdict,
)
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.verdict import Judging

TOPOLOGY = {
    "name": "t",
    "regions": [{"name": "us-east", "zones": ["us-east-1a", "us-east-1b"]}],
    "services": [{"name": "api", "command": ["python", "-c", "pass"]}],
    "entrypoint": "api",
}


def experiment(method: bool = True) -> Experiment:
    return Experiment.model_validate({
        "title": "t",
        "topology": TOPOLOGY,
        "steady_state": [{"name": "ok", "probe": "instances", "tolerance": {"min": 1}}],
        "method": [{"fault": "zone_outage", "zone": "us-east-1a"}] if method else [],
    })


def reading(phase: Phase, ok: bool, role: str = "steady_state") -> ProbeReading:
    return ProbeReading(phase=phase, role=role, name="ok", value=1.0 if ok else 0.0, ok=ok,  # type: ignore[arg-type]
                        tolerance=Tolerance(min=1))


def passing_history() -> History:
    history = History()
    history.append(reading(Phase.BASELINE, True))
    history.append(reading(Phase.OBSERVE, True))
    history.append(Recovery(seconds=1.5, within=30))
    history.append(reading(Phase.VERIFY, True))
    return history


def test_a_clean_run_passes_and_reports_time_to_recover() -> None:
    judgement = judge(experiment(), passing_history())
    assert judgement.verdict == Verdict.PASSED
    assert any("1.5s" in reason for reason in judgement.reasons)


def test_a_failed_baseline_is_not_steady_and_says_nothing_was_injected() -> None:
    history = History()
    history.append(reading(Phase.BASELINE, False))
    judgement = judge(experiment(), history)
    assert judgement.verdict == Verdict.NOT_STEADY
    assert judgement.verdict.exit_code == 3
    assert "nothing was injected" in judgement.reasons


def test_a_failure_during_the_fault_deviates() -> None:
    history = passing_history()
    history.append(reading(Phase.OBSERVE, False))
    assert judge(experiment(), history).verdict == Verdict.DEVIATED


def test_no_recovery_within_the_limit_deviates() -> None:
    history = History()
    history.append(reading(Phase.BASELINE, True))
    history.append(Recovery(seconds=None, within=30))
    history.append(reading(Phase.VERIFY, True))
    judgement = judge(experiment(), history)
    assert judgement.verdict == Verdict.DEVIATED
    assert "did not return within 30s" in judgement.reasons[0]


def test_a_failed_verification_deviates() -> None:
    history = passing_history()
    history.append(reading(Phase.VERIFY, False))
    assert judge(experiment(), history).verdict == Verdict.DEVIATED


def test_a_guardrail_breach_aborts_even_if_readings_pass() -> None:
    history = passing_history()
    history.append(GuardrailBreached(name="g", value=0.5, tolerance=">= 0.8"))
    judgement = judge(experiment(), history)
    assert judgement.verdict == Verdict.ABORTED
    assert judgement.verdict.exit_code == 1


def test_failed_fault_steps_and_run_errors_are_errors() -> None:
    history = passing_history()
    history.append(FaultEvent(fault="f0", kind="zone_outage", step="revert_failed", label="z",
                              detail="boom"))
    assert judge(experiment(), history).verdict == Verdict.ERROR
    history = passing_history()
    history.append(RunError(phase=Phase.SETUP, message="port in use"))
    assert judge(experiment(), history).verdict == Verdict.ERROR


def test_an_unmeasured_baseline_is_an_error_not_a_pass() -> None:
    assert judge(experiment(), History()).verdict == Verdict.ERROR


def test_interruption_wins_over_everything() -> None:
    history = passing_history()
    history.append(RunError(phase=Phase.OBSERVE, message="x"))
    history.append(Interrupted(signal="SIGINT"))
    judgement = judge(experiment(), history)
    assert judgement.verdict == Verdict.INTERRUPTED
    assert judgement.verdict.exit_code == 130


def test_guardrail_readings_that_held_do_not_affect_the_verdict() -> None:
    history = passing_history()
    history.append(reading(Phase.OBSERVE, True, role="guardrail"))
    assert judge(experiment(), history).verdict == Verdict.PASSED


def test_history_round_trips_through_json() -> None:
    history = passing_history()
    history.append(FaultEvent(fault="f0", kind="zone_outage", step="inject_called", label="z"))
    again = History.model_validate_json(history.model_dump_json())
    assert again == history


def test_a_system_driven_by_tests_is_judged_by_its_checks() -> None:
    """No baseline, no schedule: a failed check is a deviation, a failed step an error."""
    checks = History(events=[reading(Phase.BASELINE, ok=True), reading(Phase.OBSERVE, ok=True)])
    assert judge_checks(checks).verdict == Verdict.PASSED
    assert judge_checks(checks).reasons == ("2 steady-state readings held",)
    failing = History(events=[*checks.events, reading(Phase.VERIFY, ok=False)])
    assert judge_checks(failing).verdict == Verdict.DEVIATED
    broken = History(events=[*failing.events, FaultEvent(
        fault="f0", kind="pause", step="revert_failed", label="pause api", detail="gone")])
    judged = judge_checks(broken)
    assert judged.verdict == Verdict.ERROR
    assert judged.reasons == ("pause api: revert failed: gone",)
    assert judge_as(Judging.CHECKS, experiment(), broken) == judged
    assert judge_as(Judging.EXPERIMENT, experiment(), checks) == judge(experiment(), checks)


def test_a_reading_is_judged_again_from_its_tolerance_not_its_recorded_flag() -> None:
    """What a journal says it saw is re-checked: a reading marked ok that its tolerance
    rejects counts as failed."""
    doctored = reading(Phase.VERIFY, ok=False).model_copy(update={"ok": True})
    assert not doctored.holds
    assert judge_checks(History(events=[doctored])).verdict == Verdict.DEVIATED
