"""Whole runs on real processes under real Locust load, driven through the CLI."""

from __future__ import annotations

import signal

import pytest

from tests.integration.runner.conftest import (
    Chaoskit,
    processes_mentioning,
    variant,
    wait_for_line,
)

pytestmark = pytest.mark.integration

ALL_ZONES = "".join(
    f"  - {{fault: zone_outage, zone: us-east-1{z}, duration: 6s}}\n" for z in "abc"
)


def test_netflix_az_passes_with_a_journal(chaoskit: Chaoskit) -> None:
    done = chaoskit.run("run", "experiments/netflix_az.yaml")
    assert done.code == 0, done.output
    journal = done.journal
    assert journal["judgement"]["verdict"] == "passed"
    assert journal["time_to_recover"] is not None
    steps = [e["step"] for e in done.events("fault")]
    assert steps == ["inject_called", "inject_effective", "revert_called", "revert_effective"]
    killed = done.events("fault")[1]["targets"]
    assert killed and all("us-east-1a" in t or "us-east-0" in t for t in killed)
    phases = [e["phase"] for e in done.events("phase")]
    assert phases[:3] == ["setup", "warmup", "baseline"] and phases[-1] == "teardown"
    chaoskit.assert_nothing_left()


def test_losing_every_zone_deviates(chaoskit: Chaoskit) -> None:
    done = chaoskit.run("run", str(chaoskit.experiment(variant(method=ALL_ZONES))))
    assert done.code == 1, done.output
    assert done.journal["judgement"]["verdict"] == "deviated"
    during = [e for e in done.events("probe") if e["phase"] == "observe"]
    assert during and not any(e["ok"] for e in during if e["name"] == "play starts succeed")
    chaoskit.assert_nothing_left()


def test_a_baseline_that_does_not_hold_ends_not_steady_with_nothing_injected(
    chaoskit: Chaoskit,
) -> None:
    impossible = ("  - {name: p99 below a microsecond, probe: load.p99_ms, window: 3s,"
                  " tolerance: {max: 0.001}}\n")
    body = variant(method=ALL_ZONES, steady=impossible)
    done = chaoskit.run("run", str(chaoskit.experiment(body)))
    assert done.code == 3, done.output
    assert done.journal["judgement"]["verdict"] == "not_steady"
    assert done.events("fault") == []
    chaoskit.assert_nothing_left()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_inject_reverts_exits_130_and_leaves_nothing(
    chaoskit: Chaoskit, sig: signal.Signals
) -> None:
    method = "  - {fault: zone_outage, zone: us-east-1a, duration: 120s}\n"
    process = chaoskit.start("run", str(chaoskit.experiment(variant(method=method))))
    wait_for_line(process, "phase  observe")
    # First SIGUSR1, which only says where the run is waiting (for a run that seems stuck).
    process.send_signal(signal.SIGUSR1)
    wait_for_line(process, "SIGUSR1: the run's tasks are in")
    process.send_signal(sig)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    journal = chaoskit.last_run_dir()
    assert journal is not None
    assert "in _one" in (journal / "run.log").read_text()  # the fault schedule's task
    from tests.integration.runner.conftest import Finished

    done = Finished(process.returncode, output, journal)
    assert done.journal["judgement"]["verdict"] == "interrupted"
    assert [e["step"] for e in done.events("fault")][-1] == "revert_effective"
    assert done.events("interrupted")[0]["signal"] == sig.name
    chaoskit.assert_nothing_left()


def test_a_guardrail_breach_aborts_within_two_seconds(chaoskit: Chaoskit) -> None:
    guardrail = "[{probe: load.success_ratio, window: 2s, tolerance: {min: 0.9}}]"
    body = variant(method=ALL_ZONES.replace("6s", "30s"), guardrails=guardrail)
    done = chaoskit.run("run", str(chaoskit.experiment(body)))
    assert done.code == 1, done.output
    assert done.journal["judgement"]["verdict"] == "aborted"
    effective = next(e["t"] for e in done.events("fault") if e["step"] == "inject_effective")
    breach = done.events("guardrail_breached")[0]["t"]
    assert breach - effective <= 2.0, f"breach seen {breach - effective:.2f}s after the fault"
    reverted = [e["t"] for e in done.events("fault") if e["step"] == "revert_called"]
    assert reverted and reverted[0] >= breach and reverted[0] - breach < 1.0
    chaoskit.assert_nothing_left()


def test_a_sigkilled_runner_is_cleaned_up_by_rollback(chaoskit: Chaoskit) -> None:
    method = "  - {fault: zone_outage, zone: us-east-1a, duration: 120s}\n"
    process = chaoskit.start("run", str(chaoskit.experiment(variant(method=method))))
    wait_for_line(process, "phase  observe")
    process.kill()
    process.wait(timeout=10)
    assert processes_mentioning(str(chaoskit.tmp)), "instances outlive a SIGKILLed runner"
    rollback = chaoskit.start("rollback")
    output, _ = rollback.communicate(timeout=60)
    assert rollback.returncode == 0, output
    assert "killed" in output
    chaoskit.assert_nothing_left()


def test_dry_run_lists_targets_and_starts_nothing(chaoskit: Chaoskit) -> None:
    process = chaoskit.start("run", "experiments/netflix_az.yaml", "--dry-run")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "playback-us-east-1a-0" in output
    assert "playback-us-east-1b-0" not in output
    assert chaoskit.last_run_dir() is None
