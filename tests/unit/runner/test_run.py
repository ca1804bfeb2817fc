"""The run's state machine on a fake platform: phases, gating, guardrails, revert-in-finally."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from chaoskit.context import RunContext
from chaoskit.model import Experiment, FaultEvent, History, Phase, PhaseStarted, Verdict
from chaoskit.model.history import AnyEvent, LoadSample
from chaoskit.model.verdict import Judgement
from chaoskit.platform.base import InstanceState
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.fake import FakePlatform
from chaoskit.runner import Run, RunOptions

TOPOLOGY = {
    "name": "t",
    "regions": [{"name": "us-east", "zones": ["us-east-1a", "us-east-1b"]}],
    "services": [{"name": "api", "command": ["python", "-c", "pass"]}],
    "entrypoint": "api",
}


class FakeEnvironment:
    """The environment seam with a fake platform and no load."""

    def __init__(self, tmp: Path) -> None:
        self.run_dir = tmp
        self.platform = FakePlatform()
        self.torn_down = False
        self.judgement: Judgement | None = None

    async def setup(self, history: History, on_sample: Any) -> RunContext:
        launches = plan_launches(Experiment.model_validate(EXPERIMENT).topology, base_dir=".",
                                 data_dir=self.run_dir / "data")
        await self.platform.start(launches)
        return RunContext(experiment=Experiment.model_validate(EXPERIMENT),
                          platform=self.platform, launches=launches, history=history,
                          run_dir=self.run_dir, rng=None)  # type: ignore[arg-type]

    async def teardown(self) -> None:
        await self.platform.close()
        self.torn_down = True

    def write_reports(self, history: History, judgement: Judgement, ttr: float | None) -> None:
        self.judgement = judgement

    def notify(self, event: AnyEvent) -> None: ...
    def say(self, message: str) -> None: ...
    def log(self, message: str) -> None: ...


EXPERIMENT: dict[str, Any] = {
    "title": "one zone out",
    "topology": TOPOLOGY,
    "steady_state": [{"name": "enough up", "probe": "instances", "tolerance": {"min": 1}}],
    "method": [{"fault": "zone_outage", "zone": "us-east-1a", "duration": "300ms"}],
    "settings": {"warmup": 0, "recovery_window": "100ms", "recover_within": "5s"},
}


def run(tmp_path: Path, **changes: Any) -> tuple[Run, FakeEnvironment]:
    experiment = Experiment.model_validate({**EXPERIMENT, **changes})
    env = FakeEnvironment(tmp_path)
    the_run = Run(experiment, RunOptions(quiet=True), env)  # type: ignore[arg-type]
    return the_run, env


def phases(history: History) -> list[Phase]:
    return [e.phase for e in history.of_type(PhaseStarted)]


async def test_a_run_goes_through_every_phase_and_passes(tmp_path: Path) -> None:
    the_run, env = run(tmp_path)
    result = await the_run.execute()
    assert result.judgement.verdict == Verdict.PASSED, result.judgement.reasons
    assert phases(the_run.history) == [
        Phase.SETUP, Phase.WARMUP, Phase.BASELINE, Phase.INJECT, Phase.OBSERVE, Phase.REVERT,
        Phase.RECOVER, Phase.VERIFY, Phase.REPORT, Phase.TEARDOWN,
    ]
    assert ("kill", ("api-us-east-1a-0",)) in env.platform.calls
    assert ("restore", ("api-us-east-1a-0",)) in env.platform.calls
    assert env.torn_down
    steps = [e.step for e in the_run.history.of_type(FaultEvent)]
    assert steps == ["inject_called", "inject_effective", "revert_called", "revert_effective"]


async def test_a_baseline_that_does_not_hold_injects_nothing(tmp_path: Path) -> None:
    the_run, env = run(tmp_path, steady_state=[
        {"name": "too many", "probe": "instances", "tolerance": {"min": 5}}])
    result = await the_run.execute()
    assert result.judgement.verdict == Verdict.NOT_STEADY
    assert result.exit_code == 3
    assert [c for c, _ in env.platform.calls] == ["start", "close"]
    assert not the_run.history.of_type(FaultEvent)


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
    assert Phase.RECOVER not in phases(the_run.history)


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

    the_run.history.append(Interrupted(signal="SIGINT"))
    for pending in asyncio.all_tasks():
        if pending.get_coro().__qualname__.startswith("Run._phases"):  # type: ignore[union-attr]
            pending.cancel()
    result = await task
    assert result.judgement.verdict == Verdict.INTERRUPTED
    assert ("restore", ("api-us-east-1a-0",)) in env.platform.calls
    assert env.torn_down


def test_load_samples_are_not_needed_without_load(tmp_path: Path) -> None:
    the_run, _ = run(tmp_path)
    assert the_run.clock.has_load is False
    assert LoadSample  # the clock only waits on samples when the experiment has load


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))


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
