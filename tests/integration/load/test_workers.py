"""Distributed load (``load.workers``): Locust's master and workers, with real Locust.

One merged stream with every worker's traffic in every second; a dead worker is a
load error at once, not a hang; nothing outlives a stop or a SIGKILLed runner; and an
experiment under ``workers: 2`` reaches the same verdict as under one Locust.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaoskit.errors import LoadError
from chaoskit.load.driver import LoadDriver
from chaoskit.model.experiment import LoadSpec
from chaoskit.state import RunState, process_alive
from tests.integration.load.test_driver import Samples, Target, group_members, state, target
from tests.integration.runner.conftest import Chaoskit, Finished, variant

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
LOCUSTFILE = str(HERE / "locustfile_workers.py")
__all__ = ["state", "target"]  # fixtures, used by name


def listening(port: int) -> list[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def master_port(pid: int) -> int:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return int(args[args.index("--master-bind-port") + 1])


def assert_all_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while any(process_alive(p) or group_members(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in pids if process_alive(p) or group_members(p)] == []


async def test_two_workers_give_one_complete_sample_per_second_with_both_workers_traffic(
    target: Target, state: RunState, tmp_path: Path,
) -> None:
    samples = Samples()
    driver = LoadDriver()
    spec = LoadSpec(locustfile=LOCUSTFILE, users=4, spawn_rate=50, workers=2)
    try:
        await driver.start(spec, host=target.url, run_dir=tmp_path / "run", on_sample=samples,
                           state=state, max_duration=30)
        master, *workers = driver.pids
        assert len(workers) == 2
        assert [p.role for p in state.processes] == ["load master", "load worker 1",
                                                     "load worker 2"]
        # Locust's default is every interface ("*"): the master listens on loopback only.
        assert listening(master_port(master)) == ["0100007F"]
        first = await driver.wait_first_sample(timeout=10)
        await samples.until(lambda: len(samples.items) >= 4, timeout=10)
    finally:
        await driver.stop()
    assert_all_gone(driver.pids)
    assert state.processes == []

    names = {f"ok from {pid}" for pid in workers}
    seconds = [s.second for s in samples.samples]
    assert seconds == list(range(first.second, first.second + len(seconds)))
    # The first second is partial (a worker's users may start after it began); the last
    # may be flushed at shutdown.
    for received, sample in samples.items[1:-1]:
        assert set(sample.by_name) == names, sample.by_name.keys()
        assert all(stats.requests > 0 for stats in sample.by_name.values())
        assert sample.total.requests == sum(s.requests for s in sample.by_name.values())
        assert sample.users == 4
        # Soon after the second ended: well before the merge's 2 s wait for a late worker.
        assert received - (sample.second + 1) < 1.5, (sample.second, received)
    assert driver.late_samples == 0
    # The master's final totals hold both workers' requests; the stream lacks at most the
    # unfinished last second.
    final = driver.final_stats()
    assert final is not None and {e.name for e in final} == names
    streamed = sum(s.total.requests for s in samples.samples)
    busiest = max(s.total.requests for s in samples.samples)
    assert 0 <= sum(e.requests for e in final) - streamed <= 2 * busiest


async def test_a_killed_worker_is_a_load_error_at_once_and_stops_the_rest(
    target: Target, state: RunState, tmp_path: Path,
) -> None:
    samples = Samples()
    errors: list[tuple[float, LoadError]] = []
    driver = LoadDriver()
    spec = LoadSpec(locustfile=LOCUSTFILE, users=2, spawn_rate=50, workers=2)
    try:
        await driver.start(spec, host=target.url, run_dir=tmp_path / "run", on_sample=samples,
                           state=state, max_duration=30,
                           on_error=lambda error: errors.append((time.monotonic(), error)))
        await driver.wait_first_sample(timeout=10)
        victim = driver.pids[2]
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        while not errors and time.monotonic() - killed < 10:
            await asyncio.sleep(0.05)
        [(noticed, error)] = errors
        assert noticed - killed < 3.0, noticed - killed
        assert error is driver.error and not driver.running
        assert f"Locust worker 2 (pid {victim}) was killed by SIGKILL" in str(error)
    finally:
        await driver.stop()
    # The master and the other worker were stopped without being asked to.
    assert_all_gone(driver.pids)
    assert state.processes == []
    log = (tmp_path / "run" / "locust.log").read_text()
    assert "ERROR/chaoskit.load: Locust worker 2" in log


_RUNNER = """
import asyncio, sys
from pathlib import Path
from chaoskit.load.driver import LoadDriver
from chaoskit.model.experiment import LoadSpec
from chaoskit.state import RunState

async def main() -> None:
    driver = LoadDriver()
    await driver.start(LoadSpec(locustfile=sys.argv[1], users=2, workers=2), host=sys.argv[2],
                       run_dir=Path(sys.argv[3]), on_sample=lambda _: None,
                       state=RunState(run_id="workers-rollback"), max_duration=120)
    await driver.wait_first_sample(10)
    print(*driver.pids, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_a_sigkilled_runners_master_and_workers_are_gone_after_rollback(
    target: Target, tmp_path: Path,
) -> None:
    env = {**os.environ, "CHAOSKIT_STATE_DIR": str(tmp_path / "state")}
    runner = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, LOCUSTFILE, target.url, str(tmp_path / "run")],
        env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert runner.stdout is not None
        pids = [int(p) for p in runner.stdout.readline().split()]
        assert len(pids) == 3, pids
        recorded = (tmp_path / "state" / "workers-rollback.json").read_text()
        assert all(f'"pid": {pid}' in recorded for pid in pids)
    finally:
        runner.kill()
        runner.wait(timeout=10)
    rollback = subprocess.run([sys.executable, "-m", "chaoskit", "rollback"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert_all_gone(pids)
    assert not (tmp_path / "state" / "workers-rollback.json").exists()


INSTANCE_KILL = "  - {fault: instance_kill, service: playback, count: 1, duration: 3s}\n"


def test_an_experiment_reaches_the_same_verdict_under_one_locust_and_two_workers(
    tmp_path: Path,
) -> None:
    # Chaos Monkey on the small platform, cut short: a playback instance dies and the
    # gateway's retries keep every play. The same file in both forms, run at once (each
    # with its own platform, state and reports), to keep the suite short.
    steady = ("  - {name: play starts succeed, probe: load.success_ratio, window: 2s,"
              " tolerance: {min: 0.99}}\n"
              "  - {name: p99 stays low, probe: load.p99_ms, window: 2s, tolerance: {max: 500}}\n")
    body = variant(method=INSTANCE_KILL, steady=steady,
                   guardrails="[{probe: load.success_ratio, window: 2s, tolerance: {min: 0.5}}]",
                   settings="{seed: 7, warmup: 1s, recover_within: 10s}")
    forms = {"one-locust": body,
             "two-workers": body.replace("spawn_rate: 10}", "spawn_rate: 10, workers: 2}")}
    assert forms["two-workers"] != body
    tools = {name: Chaoskit(tmp_path / name) for name in forms}
    running: dict[str, subprocess.Popen[str]] = {}
    try:
        for name, text in forms.items():
            tools[name].tmp.mkdir()
            running[name] = tools[name].start("run", str(tools[name].experiment(text)))
        outputs = {name: process.communicate(timeout=240)[0]
                   for name, process in running.items()}
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for name, tool in tools.items():
        done = Finished(running[name].returncode, outputs[name], tool.last_run_dir())
        assert done.code == 0, f"{name}:\n{done.output}"
        assert done.journal["judgement"]["verdict"] == "passed"
        assert max(e["users"] for e in done.events("load")) == 10
        assert done.run_dir is not None
        assert (done.run_dir / "locust-worker-2.log").exists() == (name == "two-workers")
        tool.assert_nothing_left()
