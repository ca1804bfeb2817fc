"""The run's state machine on a fake platform: phases, gating, guardrails, revert-in-finally."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from chaoskit.checks.verdict import judge
from chaoskit.errors import ConfigError, PlatformError
from chaoskit.model import Experiment, FaultEvent, History, Phase, PhaseStarted, Verdict
from chaoskit.model.history import (
    GuardrailBreached,
    InstanceChanged,
    LoadSample,
    Note,
    ProbeReading,
    RequestStats,
)
from chaoskit.model.tolerance import Tolerance
from chaoskit.platform.base import InstanceState, Platform
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.fake import FakePlatform
from chaoskit.platform.registry import PLATFORMS, PlatformSite
from chaoskit.probes.load import STREAM_SLACK
from chaoskit.report.journal import read_journal
from chaoskit.runner import Run, RunOptions, Session
from chaoskit.runner.waits import SampleClock

TOPOLOGY = {
    "name": "t",
    "regions": [{"name": "us-east", "zones": ["us-east-1a", "us-east-1b"]}],
    "services": [{"name": "api", "command": ["python", "-c", "pass"]}],
    "entrypoint": "api",
}


class FakeSite:
    """The platform seam: the real Session and Environment on a fake platform."""

    def __init__(self) -> None:
        self.platform = FakePlatform()

    def __call__(self, site: PlatformSite) -> Platform:
        return self.platform

    @property
    def torn_down(self) -> bool:
        return ("close", ()) in self.platform.calls


@pytest.fixture(autouse=True)
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSite:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    site = FakeSite()
    monkeypatch.setitem(PLATFORMS, "fake", site)
    return site


EXPERIMENT: dict[str, Any] = {
    "title": "one zone out",
    "topology": TOPOLOGY,
    "steady_state": [{"name": "enough up", "probe": "instances", "tolerance": {"min": 1}}],
    "method": [{"fault": "zone_outage", "zone": "us-east-1a", "duration": "300ms"}],
    "settings": {"warmup": 0, "recovery_window": "100ms", "recover_within": "5s"},
}


def run(tmp_path: Path, **changes: Any) -> tuple[Run, FakeSite]:
    experiment = Experiment.model_validate({**EXPERIMENT, **changes})
    options = RunOptions(quiet=True, platform="fake", reports_dir=tmp_path / "reports")
    site = PLATFORMS["fake"]
    assert isinstance(site, FakeSite)
    return Run(Session(experiment, options)), site


def phases(history: History) -> list[Phase]:
    return [e.phase for e in history.of_type(PhaseStarted)]


async def test_a_run_goes_through_every_phase_and_passes(tmp_path: Path) -> None:
    the_run, env = run(tmp_path)
    result = await the_run.execute()
    assert result.judgement.verdict == Verdict.PASSED, result.judgement.reasons
    assert phases(the_run.session.history) == [
        Phase.SETUP, Phase.WARMUP, Phase.BASELINE, Phase.INJECT, Phase.OBSERVE, Phase.REVERT,
        Phase.RECOVER, Phase.VERIFY, Phase.REPORT, Phase.TEARDOWN,
    ]
    assert ("kill", ("api-us-east-1a-0",)) in env.platform.calls
    assert ("restore", ("api-us-east-1a-0",)) in env.platform.calls
    assert env.torn_down
    steps = [e.step for e in the_run.session.history.of_type(FaultEvent)]
    assert steps == ["inject_called", "inject_effective", "revert_called", "revert_effective"]


async def test_a_baseline_that_does_not_hold_injects_nothing(tmp_path: Path) -> None:
    the_run, env = run(tmp_path, steady_state=[
        {"name": "too many", "probe": "instances", "tolerance": {"min": 5}}])
    result = await the_run.execute()
    assert result.judgement.verdict == Verdict.NOT_STEADY
    assert result.exit_code == 3
    assert [c for c, _ in env.platform.calls] == ["start", "close"]
    assert not the_run.session.history.of_type(FaultEvent)


async def test_a_guardrail_breach_aborts_and_reverts(tmp_path: Path) -> None:
    the_run, env = run(
        tmp_path,
        method=[{"fault": "zone_outage", "zone": "us-east-1a", "duration": "30s"}],
        guardrails=[{"probe": "instances", "tolerance": {"min": 2}}],
    )
    started = asyncio.get_running_loop().time()
    result = await the_run.execute()
    assert result.judgement.verdict == Verdict.ABORTED
    assert asyncio.get_running_loop().time() - started < 10, "aborted long before 30s"
    assert ("restore", ("api-us-east-1a-0",)) in env.platform.calls
    assert Phase.RECOVER not in phases(the_run.session.history)


async def test_a_fault_that_cannot_inject_is_an_error_and_everything_is_torn_down(
    tmp_path: Path,
) -> None:
    the_run, env = run(tmp_path, method=[
        {"fault": "instance_kill", "service": "api", "zone": "us-east-1b", "count": 1},
        {"fault": "instance_kill", "service": "api", "zone": "us-east-1b", "count": 1,
         "after": "100ms"},
    ])
    result = await the_run.execute()
    assert result.judgement.verdict == Verdict.ERROR
    assert any("no instance is up" in r for r in result.judgement.reasons)
    assert env.torn_down
    assert all(s.state == InstanceState.STOPPED for s in env.platform.status())


async def test_cancelling_the_run_reverts_the_active_fault(tmp_path: Path) -> None:
    the_run, env = run(tmp_path, method=[
        {"fault": "zone_outage", "zone": "us-east-1a", "duration": "60s"}])
    task = asyncio.ensure_future(the_run.execute())
    while not any(c == "kill" for c, _ in env.platform.calls):
        await asyncio.sleep(0.01)
    the_run.interrupted = True
    from chaoskit.model import Interrupted

    the_run.session.history.append(Interrupted(signal="SIGINT"))
    for pending in asyncio.all_tasks():
        if pending.get_coro().__qualname__.startswith("Run._phases"):  # type: ignore[union-attr]
            pending.cancel()
    result = await task
    assert result.judgement.verdict == Verdict.INTERRUPTED
    assert ("restore", ("api-us-east-1a-0",)) in env.platform.calls
    assert env.torn_down


def test_load_samples_are_not_needed_without_load(tmp_path: Path) -> None:
    the_run, _ = run(tmp_path)
    assert the_run.session.clock.has_load is False


async def test_a_teardown_that_raises_still_leaves_a_journal_and_a_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    the_run, site = run(tmp_path)

    async def broken_close() -> None:
        raise PlatformError("instance api-us-east-1a-0 would not stop")

    monkeypatch.setattr(site.platform, "close", broken_close)
    result = await the_run.execute()
    assert result.judgement.verdict == Verdict.ERROR
    assert any("would not stop" in reason for reason in result.judgement.reasons)
    journal = read_journal(result.journal)
    assert journal.judgement == result.judgement
    assert phases(journal.history)[-2:] == [Phase.REPORT, Phase.TEARDOWN]


async def test_the_journal_is_written_before_teardown(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A teardown that never returns (killed while stopping) leaves the verdict on disk."""
    the_run, site = run(tmp_path)
    seen: list[Verdict] = []

    async def close_and_look() -> None:
        seen.append(read_journal(the_run.session.run_dir / "journal.json").judgement.verdict)

    monkeypatch.setattr(site.platform, "close", close_and_look)
    await the_run.execute()
    assert seen == [Verdict.PASSED]


async def test_a_journal_is_judged_again_from_its_stored_tolerances(tmp_path: Path) -> None:
    the_run, _ = run(tmp_path)
    result = await the_run.execute()
    journal = read_journal(result.journal)
    assert judge(journal.experiment, journal.history) == result.judgement
    readings = journal.history.of_type(ProbeReading)
    assert readings and all(isinstance(r.tolerance, Tolerance) for r in readings)
    assert all(r.holds == r.ok for r in readings)


def test_an_unknown_platform_is_a_config_error_listing_the_known_ones(tmp_path: Path) -> None:
    experiment = Experiment.model_validate(EXPERIMENT)
    session = Session(experiment, RunOptions(quiet=True, platform="kubernetes",
                                             reports_dir=tmp_path))
    with pytest.raises(ConfigError, match="expected local or docker"):
        asyncio.run(session.setup())


def test_instances_get_an_absolute_data_dir_even_from_a_relative_reports_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    experiment = Experiment.model_validate(EXPERIMENT)
    assert experiment.topology is not None
    launches = plan_launches(experiment.topology, base_dir=".", data_dir=Path("reports/run/data"))
    for launch in launches:
        assert Path(launch.env["CHAOSKIT_DATA_DIR"]).is_absolute()
        assert Path(launch.env["CHAOSKIT_DATA_DIR"]).is_dir()


async def test_recovery_is_awaited_from_the_last_revert_not_the_first(
    tmp_path: Path, fake_site: FakeSite, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A revert that outlasts recover_within (Chaos Kong's failback) is still the fault:
    a system steady all along passes, and recovery is read at least once."""
    the_run, site = run(tmp_path, settings={
        "warmup": 0, "recovery_window": "100ms", "recover_within": "200ms"})
    restore = site.platform.restore

    async def slow_restore(ids: Any, *, timeout: float = 60.0) -> None:
        await asyncio.sleep(0.5)
        await restore(ids, timeout=timeout)

    monkeypatch.setattr(site.platform, "restore", slow_restore)
    result = await the_run.execute()
    assert result.judgement.verdict == Verdict.PASSED, result.judgement.reasons
    assert result.time_to_recover is not None


async def test_instance_state_changes_are_recorded_while_the_system_runs(tmp_path: Path) -> None:
    # The outage lasts well past two looks at the platform (every 0.5 s).
    the_run, _ = run(tmp_path, method=[
        {"fault": "zone_outage", "zone": "us-east-1a", "duration": "1200ms"}])
    await the_run.execute()
    changes = [(e.instance, e.was, e.state)
               for e in the_run.session.history.of_type(InstanceChanged)]
    assert ("api-us-east-1a-0", "up", "down") in changes
    assert ("api-us-east-1a-0", "down", "up") in changes
    assert all(instance == "api-us-east-1a-0" for instance, _, _ in changes)
    # Teardown stops the watch first: instances stopping at the end are not news.
    assert not any(state == "stopped" for _, _, state in changes)


async def test_a_blind_observer_ends_the_run_in_error_not_in_a_verdict(tmp_path: Path) -> None:
    # Nothing listens there: the Prometheus the probe asks is missing, not the system.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    the_run, env = run(tmp_path, steady_state=[
        {"name": "enough up", "probe": "instances", "tolerance": {"min": 1}},
        {"name": "no errors", "probe": "prometheus", "query": "sum(errors)",
         "url": f"http://127.0.0.1:{port}", "timeout": "1s", "tolerance": {"max": 0}}])
    result = await the_run.execute()
    assert result.exit_code == 4, result.judgement.reasons
    assert not the_run.session.history.of_type(FaultEvent)  # nothing was injected
    readings = the_run.session.history.of_type(ProbeReading)
    assert [r.value for r in readings if r.name == "no errors"] == [None]
    assert env.torn_down


async def test_a_load_stream_that_stalls_during_the_fault_is_an_error_not_an_abort(
    tmp_path: Path,
) -> None:
    # The guardrails would be blind: the run reverts at once and says why (exit 4); it
    # does not blame the system with a breach.
    the_run, env = run(
        tmp_path,
        method=[{"fault": "zone_outage", "zone": "us-east-1a", "duration": "30s"}],
        guardrails=[{"probe": "instances", "tolerance": {"min": 1}}],
    )
    session = the_run.session
    fake = [time.time()]
    session.clock = SampleClock(session.history, now=lambda: fake[0])

    async def stall_once_injecting() -> None:
        while Phase.INJECT not in phases(session.history):
            await asyncio.sleep(0.02)
        session.clock.has_load = True
        session.clock.on_sample(LoadSample(second=int(fake[0]), total=RequestStats()))
        fake[0] += STREAM_SLACK + 1

    staller = asyncio.ensure_future(stall_once_injecting())
    started = asyncio.get_running_loop().time()
    result = await the_run.execute()
    await staller
    assert result.exit_code == 4, result.judgement.reasons
    assert any("no complete second" in r for r in result.judgement.reasons)
    assert asyncio.get_running_loop().time() - started < 10, "reverted long before 30s"
    assert not session.history.of_type(GuardrailBreached)
    assert ("restore", ("api-us-east-1a-0",)) in env.platform.calls
    assert env.torn_down


async def test_a_loop_held_up_during_the_run_is_noted_in_the_history(tmp_path: Path) -> None:
    the_run, _ = run(tmp_path, method=[
        {"fault": "zone_outage", "zone": "us-east-1a", "duration": "4s"}])
    session = the_run.session

    async def block_once_injecting() -> None:
        while Phase.INJECT not in phases(session.history):
            await asyncio.sleep(0.02)
        time.sleep(2.6)  # a blocking call on the loop, as an overloaded machine makes one

    blocker = asyncio.ensure_future(block_once_injecting())
    result = await the_run.execute()
    await blocker
    assert result.judgement.verdict == Verdict.PASSED, result.judgement.reasons
    notes = [n.message for n in session.history.of_type(Note)]
    late = [float(m.split(" ran ")[1].split("s late")[0]) for m in notes if "event loop" in m]
    assert late and late[0] >= 2.0, notes
