"""Programs that know nothing of chaoskit, on the real local platform: ``python -m
http.server`` serving a file the topology wrote, a bare TCP server, a command health
check and no health check at all; health watched for the whole run; a start that cannot
become healthy fails within the service's ready_timeout and leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from chaoskit.errors import PlatformError
from chaoskit.model.topology import Instance, RestartPolicy, TcpHealth, Topology
from chaoskit.platform.base import InstanceState, Launch
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.health import HealthCheck
from chaoskit.platform.local import LocalPlatform
from chaoskit.state import RUN_ENV, RunState
from tests.integration.platform.echo_topology import MARKER_VAR, marked_pids

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TCP_SERVER = (
    "import socket, sys\n"
    "server = socket.socket()\n"
    "server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "server.bind(('127.0.0.1', int(sys.argv[1])))\n"
    "server.listen()\n"
    "while True:\n"
    "    server.accept()[0].close()\n"
)
"""Accepts and closes connections on the port in argv[1]: no HTTP, no CHAOSKIT_* read."""

SLEEPER = "import time; time.sleep(600)"

INDEX = "<html>hello from {{ instance }} on {{ ports.web }}</html>\n"


def web(**changes: Any) -> dict[str, Any]:
    return {"name": "web", "ports": ["web", "other"],
            "command": ["python", "-m", "http.server", "{{ ports.web }}", "--bind", "127.0.0.1",
                        "--directory", "{{ data_dir }}"],
            "files": {"index.html": INDEX},
            "health": {"http": "/index.html", "port": "web"}, **changes}


def tcp(**changes: Any) -> dict[str, Any]:
    # Its TCP port is not its first: the health check must dial the named one.
    return {"name": "tcp", "ports": ["admin", "main"],
            "command": ["python", "-c", TCP_SERVER, "{{ ports.main }}"],
            "health": {"tcp": "main"}, **changes}


def cmd(**changes: Any) -> dict[str, Any]:
    return {"name": "cmd", "ports": ["client"],
            "command": ["python", "-c", TCP_SERVER, "{{ port }}"],
            "health": {"command": [
                "python", "-c",
                "import socket; socket.create_connection(('127.0.0.1', {{ port }}), 1)"]},
            **changes}


def quiet(**changes: Any) -> dict[str, Any]:
    return {"name": "quiet", "command": ["python", "-c", SLEEPER], "health": "none", **changes}


def topology(marker: str, *services: dict[str, Any]) -> Topology:
    return Topology.model_validate({
        "name": "own-programs",
        "regions": [{"name": "r1", "zones": ["z1"]}],
        "entrypoint": services[0]["name"],
        # The marker in every instance's environment: the test finds its processes by it.
        "services": [{**s, "env": {MARKER_VAR: marker}} for s in services],
    })


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
        try:
            # Bounded: a close that hangs (see the cancellation test below) must fail the
            # test, not hang the suite with its instances running.
            await asyncio.wait_for(platform.close(), 15)
        finally:
            left = nothing_left(marker, run_state)
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        assert left == []


def nothing_left(marker: str, run_state: RunState) -> list[int]:
    """Live processes carrying the test's marker or the run's (health commands included)."""
    needle = f"{RUN_ENV}={run_state.run_id}".encode()
    found = set(marked_pids(marker))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.add(int(entry.name))
        except OSError:
            continue
    return sorted(found)


def launches(top: Topology, tmp_path: Path) -> list[Launch]:
    return plan_launches(top, base_dir=str(tmp_path), data_dir=tmp_path / "data")


def state_of(platform: LocalPlatform, service: str) -> InstanceState:
    return next(s.state for s in platform.status() if s.instance.service == service)


async def until(condition: Callable[[], bool], timeout: float) -> float:
    """Poll ``condition`` until it holds; the seconds it took. Fails after ``timeout``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        assert loop.time() - start < timeout, "condition not met in time"
        await asyncio.sleep(0.05)
    return loop.time() - start


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        return await client.get(url)


async def accepts(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def test_ordinary_programs_of_every_health_kind_come_up(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    planned = launches(topology(marker, web(), tcp(), cmd(), quiet()), tmp_path)
    by_service = {la.instance.service: la for la in planned}

    await local.start(planned, timeout=30)

    assert {s.instance.service: s.state for s in local.status()} == {
        "web": InstanceState.UP, "tcp": InstanceState.UP, "cmd": InstanceState.UP,
        "quiet": InstanceState.UP}
    # http.server serves the file the topology wrote into its data dir, on the named port.
    page = by_service["web"]
    answer = await get(f"http://127.0.0.1:{page.ports['web']}/index.html")
    assert answer.status_code == 200
    assert answer.text == f"<html>hello from web-z1-0 on {page.ports['web']}</html>\n"
    assert page.health_url == f"http://127.0.0.1:{page.ports['web']}/index.html"
    assert not await accepts(page.ports["other"])  # drawn, but nobody listens there
    # The TCP server listens on its second port only; the check dialled that one.
    server = by_service["tcp"]
    assert server.health_port == server.ports["main"] != server.ports["admin"]
    assert await accepts(server.ports["main"]) and not await accepts(server.ports["admin"])
    assert await accepts(by_service["cmd"].port)


async def test_health_is_watched_for_the_whole_run(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    planned = launches(topology(marker, web(), cmd()), tmp_path)
    await local.start(planned, timeout=30)
    index = tmp_path / "data" / "web-z1-0" / "index.html"
    assert state_of(local, "web") == InstanceState.UP

    index.unlink()  # http.server answers 404 now: running, not healthy
    took = await until(lambda: state_of(local, "web") == InstanceState.UNHEALTHY, timeout=3)
    print(f"unhealthy seen after {took:.2f}s")
    pid = next(s.handle for s in local.status() if s.instance.service == "web")
    assert state_of(local, "cmd") == InstanceState.UP  # the others are untouched

    index.write_text("back\n")
    took = await until(lambda: state_of(local, "web") == InstanceState.UP, timeout=3)
    print(f"up again after {took:.2f}s")
    # The same process all along: unhealthy is not dead, nothing was restarted.
    status = next(s for s in local.status() if s.instance.service == "web")
    assert (status.handle, status.restarts) == (pid, 0)


async def test_a_command_check_that_starts_failing_makes_its_instance_unhealthy(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    # Healthy while a file exists in its data dir: the command check is run again and again.
    check = ["python", "-c", "import os, sys; sys.exit(not os.path.exists('{{ data_dir }}/ok'))"]
    planned = launches(topology(marker, quiet(health={"command": check},
                                              files={"ok": ""})), tmp_path)
    await local.start(planned, timeout=30)
    ok = tmp_path / "data" / "quiet-z1-0" / "ok"
    ok.unlink()
    await until(lambda: state_of(local, "quiet") == InstanceState.UNHEALTHY, timeout=4)
    ok.write_text("")
    await until(lambda: state_of(local, "quiet") == InstanceState.UP, timeout=4)


async def test_instances_of_a_service_start_together_and_are_awaited_together(
    local: LocalPlatform, marker: str, tmp_path: Path
) -> None:
    # Each replica is healthy only once every replica listens (a quorum): started and
    # awaited one by one, the first would never be.
    every_peer = ("import socket\n"
                  "{% for peer in instances('quorum') %}"
                  "socket.create_connection(('{{ peer.host }}', {{ peer.port }}), 1).close()\n"
                  "{% endfor %}")
    quorum = {"name": "quorum", "scope": "region", "replicas": 3, "ports": ["peer"],
              "command": ["python", "-c", TCP_SERVER, "{{ port }}"],
              "health": {"command": ["python", "-c", every_peer]}, "ready_timeout": "5s"}
    planned = launches(topology(marker, quorum), tmp_path)
    assert len(planned) == 3 and all(la.health_command[2].count("create_connection") == 3
                                     for la in planned)
    await local.start(planned, timeout=20)
    assert [s.state for s in local.status()] == [InstanceState.UP] * 3


@pytest.mark.parametrize(("never", "asked"), [
    pytest.param(tcp(command=["python", "-c", SLEEPER]), "tcp 127.0.0.1:{main}", id="tcp"),
    pytest.param(web(command=["python", "-c", SLEEPER]), "http://127.0.0.1:{web}/index.html",
                 id="http"),
    pytest.param(cmd(health={"command": ["python", "-c", "raise SystemExit(1)"]}),
                 "`{python} -c raise SystemExit(1)`", id="command"),
])
async def test_an_instance_never_healthy_fails_the_start_within_its_ready_timeout(
    local: LocalPlatform, marker: str, tmp_path: Path, run_state: RunState,
    never: dict[str, Any], asked: str,
) -> None:
    # A healthy first wave, then a service that never passes its check (its process runs).
    planned = launches(topology(marker, quiet(), {**never, "ready_timeout": "2s"}), tmp_path)
    failing = planned[-1]
    assert failing.ready_timeout == 2.0
    started = time.monotonic()

    with pytest.raises(PlatformError) as info:
        # The service's 2s wins over the start's 30s (bounded: a hung close must fail here).
        await asyncio.wait_for(local.start(planned, timeout=30), 15)

    took = time.monotonic() - started
    print(f"start failed after {took:.2f}s: {info.value}")
    assert 2.0 <= took < 5.0
    expected = asked.format(python=sys.executable, **failing.ports)
    message = str(info.value)
    assert message.startswith(f"instance {failing.instance.id} was not healthy within 2s "
                              f"(asked {expected}); last lines of "), message
    # Nothing half-started: the healthy first wave was stopped too, and nothing was left.
    assert nothing_left(marker, run_state) == []
    assert run_state.processes == []
    assert {s.state for s in local.status()} == {InstanceState.STOPPED}


async def test_a_health_check_cancelled_as_its_connection_fails_still_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: connections are refused
    launch = Launch(instance=Instance(id="x-z-0", service="x", zone="z", region="r", index=0),
                    argv=("x",), env={}, cwd=".", ports={"p": port}, restart=RestartPolicy(),
                    health=TcpHealth(tcp="p"), health_port=port)
    watcher: asyncio.Task[bool] | None = None

    async def refused_as_the_watch_is_cancelled(*args: Any, **kwargs: Any) -> Any:
        # What LocalPlatform.close() does to the health task, at the worst moment: just as
        # the connection attempt completes (deterministic here, a race in real runs).
        assert watcher is not None
        watcher.cancel()
        raise ConnectionRefusedError(f"refused by {args}")

    monkeypatch.setattr(asyncio, "open_connection", refused_as_the_watch_is_cancelled)

    async def watch() -> bool:
        async with HealthCheck(launch, {}) as check:
            return await check.until_healthy(math.inf)

    watcher = asyncio.create_task(watch())
    done, _ = await asyncio.wait({watcher}, timeout=1)
    monkeypatch.undo()
    if not done:
        watcher.cancel()
        await asyncio.wait({watcher}, timeout=1)
    assert done and watcher.cancelled(), "the cancelled health check kept polling"
