"""The local platform against real processes: start, kill, hold, pause, crash, close, rollback."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from chaoskit.errors import PlatformError
from chaoskit.platform.base import InstanceState, InstanceStatus, Launch, Platform
from chaoskit.platform.local import LocalPlatform
from chaoskit.state import RunState, process_alive, rollback
from tests.integration.platform.echo_topology import (
    HERE,
    RESTART_DELAY,
    echo_launches,
    echo_topology,
    marked_pids,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

BACKEND = "backend-z1-0"
FRONT = "front-global-0"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(path))
    return path


@pytest.fixture
def marker() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def run_state(marker: str) -> RunState:
    return RunState(run_id=f"test-{marker}")


@pytest.fixture
async def local(run_state: RunState, tmp_path: Path, marker: str) -> AsyncIterator[LocalPlatform]:
    platform = LocalPlatform(run_state, tmp_path / "logs")
    try:
        yield platform
    finally:
        await platform.close()
        assert marked_pids(marker) == []


def launches_for(marker: str, tmp_path: Path, **options: object) -> list[Launch]:
    return echo_launches(echo_topology(marker, **options), tmp_path / "data")  # type: ignore[arg-type]


def status_of(platform: LocalPlatform, instance_id: str) -> InstanceStatus:
    return next(s for s in platform.status() if s.instance.id == instance_id)


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def health(launch: Launch, timeout: float = 5.0) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=timeout) as client:
        return await client.get(launch.health_url)


def log_time(log: Path, word: str) -> float:
    """The time the echo service printed with ``word`` ("started", "listening"), last run."""
    lines = [line for line in log.read_text().splitlines() if f" {word} " in line]
    return float(lines[-1].rsplit(" ", 1)[1])


async def test_start_in_waves_all_healthy(
    local: LocalPlatform, marker: str, tmp_path: Path, run_state: RunState
) -> None:
    launches = launches_for(marker, tmp_path)
    assert isinstance(local, Platform)

    await local.start(launches, timeout=20)

    statuses = local.status()
    assert [s.instance.id for s in statuses] == [launch.instance.id for launch in launches]
    assert {s.state for s in statuses} == {InstanceState.UP}
    for launch, status in zip(launches, statuses, strict=True):
        answer = (await health(launch)).json()
        assert answer == {**answer, "instance": launch.instance.id, "pid": int(status.handle)}
        assert status.address == launch.address
    assert sorted(p.pid for p in run_state.processes) == sorted(int(s.handle) for s in statuses)
    assert {p.role for p in run_state.processes} == {f"instance {s.instance.id}" for s in statuses}
    # The front (second wave) started only after every backend listened.
    logs = tmp_path / "logs"
    backends_ready = max(log_time(logs / f"{s.instance.id}.log", "listening")
                         for s in statuses if s.instance.service == "backend")
    assert log_time(logs / f"{FRONT}.log", "started") >= backends_ready


async def test_kill_is_replaced_after_the_delay_on_the_same_port(
    local: LocalPlatform, marker: str, tmp_path: Path, run_state: RunState
) -> None:
    launches = launches_for(marker, tmp_path)
    await local.start(launches, timeout=20)
    old = int(status_of(local, BACKEND).handle)
    loop = asyncio.get_running_loop()

    killed_at = loop.time()
    await local.kill([BACKEND])

    assert not process_alive(old)
    assert old not in [p.pid for p in run_state.processes]
    assert status_of(local, BACKEND).state in (InstanceState.DOWN, InstanceState.STARTING)
    await until(lambda: status_of(local, BACKEND).state == InstanceState.UP)
    replaced_after = loop.time() - killed_at
    status = status_of(local, BACKEND)
    assert replaced_after >= RESTART_DELAY
    assert status.restarts == 1 and status.handle != str(old) and not status.held
    assert status.address == launches[0].address
    assert (await health(launches[0])).json()["pid"] == int(status.handle)
    print(f"kill to replaced (healthy): {replaced_after:.3f}s with delay {RESTART_DELAY}s")


async def test_kill_with_hold_stays_down_until_restore(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    launches = launches_for(marker, tmp_path)
    await local.start(launches, timeout=20)

    await local.kill([BACKEND], hold=True)
    # Nothing to poll for: the claim is that nothing happens, for several delays.
    await asyncio.sleep(RESTART_DELAY * 3)
    status = status_of(local, BACKEND)
    assert (status.state, status.held, status.handle) == (InstanceState.DOWN, True, "")
    with pytest.raises(httpx.ConnectError):
        await health(launches[0])

    await local.restore([BACKEND], timeout=10)

    status = status_of(local, BACKEND)
    assert (status.state, status.held, status.restarts) == (InstanceState.UP, False, 1)
    assert (await health(launches[0])).status_code == 200


async def test_pause_hangs_health_and_resume_answers_again(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    launches = launches_for(marker, tmp_path)
    await local.start(launches, timeout=20)
    front = launches[-1]

    await local.pause([FRONT])

    assert status_of(local, FRONT).state == InstanceState.PAUSED
    with pytest.raises(httpx.ReadTimeout):
        await health(front, timeout=0.5)
    await local.resume([FRONT])
    assert status_of(local, FRONT).state == InstanceState.UP
    assert (await health(front)).status_code == 200


async def test_a_crashed_instance_is_replaced(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    launches = launches_for(marker, tmp_path)
    await local.start(launches, timeout=20)
    old = status_of(local, BACKEND).handle

    async with httpx.AsyncClient(trust_env=False) as client:
        await client.get(f"http://{launches[0].address}/crash")

    await until(lambda: status_of(local, BACKEND).handle not in ("", old)
                and status_of(local, BACKEND).state == InstanceState.UP)
    assert status_of(local, BACKEND).restarts == 1
    assert "exited with code 7" in (tmp_path / "logs" / f"{BACKEND}.log").read_text()


async def test_restart_never_stays_down_until_restored(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    launches = launches_for(marker, tmp_path, backend_restart="never")
    await local.start(launches, timeout=20)

    await local.kill([BACKEND])
    await asyncio.sleep(RESTART_DELAY * 3)  # again: asserting that nothing happens
    assert status_of(local, BACKEND).state == InstanceState.DOWN
    await local.restore([BACKEND])
    assert status_of(local, BACKEND).state == InstanceState.UP


async def test_never_healthy_raises_with_its_log_and_leaves_nothing(
    local: LocalPlatform, marker: str, tmp_path: Path, run_state: RunState
) -> None:
    launches = launches_for(marker, tmp_path, front_env={"ECHO_NEVER_HEALTHY": "1"})
    # Two calls, so a slow machine cannot make the healthy backends miss the short
    # deadline meant for the front; the failure must stop the backends too.
    await local.start(launches[:3], timeout=20)

    with pytest.raises(PlatformError, match=f"{FRONT} was not healthy") as caught:
        await local.start(launches[3:], timeout=2)

    assert f"echo {FRONT} listening" in str(caught.value)
    assert marked_pids(marker) == []
    assert run_state.processes == []
    assert {s.state for s in local.status()} == {InstanceState.STOPPED}


async def test_early_exit_fails_at_once_naming_the_instance(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    launches = launches_for(marker, tmp_path, front_env={"ECHO_EXIT_AT_START": "3"})
    loop = asyncio.get_running_loop()
    began = loop.time()

    with pytest.raises(PlatformError, match=f"{FRONT} exited with code 3") as caught:
        await local.start(launches, timeout=30)

    assert "told to fail at start" in str(caught.value)
    assert loop.time() - began < 15  # did not wait for the deadline
    assert marked_pids(marker) == []


async def test_close_leaves_no_process_even_paused_or_deaf_to_sigterm(
    local: LocalPlatform, marker: str, tmp_path: Path, run_state: RunState
) -> None:
    launches = launches_for(marker, tmp_path, front_env={"ECHO_IGNORE_TERM": "1"})
    await local.start(launches, timeout=20)
    await local.kill([BACKEND])  # a replacement pending when close() comes
    await local.pause(["backend-z2-0"])
    recorded = [p.pid for p in run_state.processes]

    await local.close()
    await local.close()

    assert [pid for pid in recorded if process_alive(pid)] == []
    assert marked_pids(marker) == []
    assert run_state.processes == []
    # The pending replacement never happened: the supervisors stopped first.
    await asyncio.sleep(RESTART_DELAY * 2)
    assert marked_pids(marker) == []
    with pytest.raises(PlatformError, match="closed"):
        await local.kill([BACKEND])


@pytest.mark.parametrize("via", ["api", "cli"])
async def test_a_sigkilled_runner_leaves_instances_that_rollback_kills(
    via: str, marker: str, tmp_path: Path, state_dir: Path
) -> None:
    runner = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.platform.crashing_runner", marker,
        str(tmp_path), cwd=HERE.parents[2], stdout=asyncio.subprocess.PIPE)
    try:
        assert runner.stdout is not None
        pids = json.loads(await asyncio.wait_for(runner.stdout.readline(), 30))
    finally:
        runner.send_signal(signal.SIGKILL)
        await runner.wait()
    assert len(pids) == 4 and all(process_alive(pid) for pid in pids)
    assert sorted(marked_pids(marker)) == sorted(pids)

    if via == "api":
        lines = await rollback()
        assert sum("killed instance" in line for line in lines) == 4
    else:
        cli = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "chaoskit"), "rollback",
            stdout=asyncio.subprocess.PIPE)
        out, _ = await asyncio.wait_for(cli.communicate(), 30)
        assert cli.returncode == 0 and out.decode().count("killed instance") == 4

    await until(lambda: marked_pids(marker) == [])
    assert not any(process_alive(pid) for pid in pids)
    assert list(state_dir.glob("*.json")) == []


async def test_a_cancelled_close_still_stops_everything(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    launches = launches_for(marker, tmp_path, front_env={"ECHO_IGNORE_TERM": "1"})
    await local.start(launches, timeout=20)
    front = int(status_of(local, FRONT).handle)
    first = asyncio.create_task(local.close())
    # Some way into the 2 s grace period the front (deaf to SIGTERM) is given.
    await asyncio.sleep(0.2)
    assert process_alive(front)
    first.cancel()

    await local.close()

    assert first.cancelled()
    assert marked_pids(marker) == []


async def test_close_during_restore_leaves_nothing(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    launches = launches_for(marker, tmp_path)
    await local.start(launches, timeout=20)
    await local.kill([BACKEND, FRONT], hold=True)
    restoring = asyncio.create_task(local.restore([BACKEND, FRONT], timeout=10))
    log = tmp_path / "logs" / f"{BACKEND}.log"
    # Step the loop until restore is creating the process: close must not miss it.
    while "start #2" not in log.read_text():
        await asyncio.sleep(0)

    await local.close()

    with pytest.raises(PlatformError) as caught:
        await restoring
    print(f"restore during close: {caught.value}")
    assert marked_pids(marker) == []
