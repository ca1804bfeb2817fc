"""DockerPlatform on a real engine: start, crash and replacement, hold, pause, close, engines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from docker_topology import default_socket, topology_dict

from chaoskit.errors import PlatformError
from chaoskit.model.topology import Topology
from chaoskit.platform.base import InstanceState, Launch
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.docker import DockerPlatform
from chaoskit.state import RunState

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.timeout(180)]


def launches_for(topology: dict[str, object], tmp_path: Path) -> list[Launch]:
    return plan_launches(Topology.model_validate(topology), base_dir=str(tmp_path),
                         data_dir=tmp_path / "data")


@pytest.fixture
async def platform(run_id: str, tmp_path: Path) -> AsyncIterator[DockerPlatform]:
    p = DockerPlatform(RunState(run_id=run_id), run_id, tmp_path / "logs", say=lambda _: None)
    yield p
    await p.close()  # the run_id fixture then removes anything still labelled


def state_of(p: DockerPlatform, instance_id: str) -> InstanceState:
    return next(s.state for s in p.status() if s.instance.id == instance_id)


def inspect(client: object, p: DockerPlatform, instance_id: str) -> dict[str, object]:
    handle = next(s.handle for s in p.status() if s.instance.id == instance_id)
    return client.api.inspect_container(handle)  # type: ignore[attr-defined, no-any-return]


async def healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=0.5) as http:
            return (await http.get(url)).is_success
    except httpx.HTTPError:
        return False


async def until(predicate: object, timeout: float) -> float:
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_start_runs_each_instance_in_a_labelled_container(
        platform: DockerPlatform, client: object, run_id: str, tmp_path: Path) -> None:
    launches = launches_for(topology_dict(), tmp_path)
    await platform.start(launches, timeout=60)

    assert [s.state for s in platform.status()] == [InstanceState.UP] * 4
    for launch in launches:
        info = inspect(client, platform, launch.instance.id)
        labels = info["Config"]["Labels"]  # type: ignore[index]
        assert labels["chaoskit.run"] == run_id
        assert labels["chaoskit.instance"] == launch.instance.id
        assert labels["chaoskit.zone"] == launch.instance.zone
        assert labels["chaoskit.region"] == launch.instance.region
        assert info["HostConfig"]["NetworkMode"] == "host"  # type: ignore[index]
        # The data dir is writable from inside; the PID namespace is the container's own.
        assert (Path(launch.env["CHAOSKIT_DATA_DIR"]) / "started").read_text() == "1"
    # The global instance reaches each zone's instance at its 127.0.0.1 URL.
    front = launches[-1]
    async with httpx.AsyncClient(trust_env=False) as http:
        answers = (await http.get(f"http://{front.address}/call")).json()
    assert answers == {"back-a-0": 200, "back-b-0": 200, "back-c-0": 200}
    # Every container is in the state file the moment it exists.
    recorded = json.loads(RunState(run_id=run_id).path.read_text())["containers"]
    assert {r["id"] for r in recorded} == {s.handle for s in platform.status()}


async def test_kill_is_a_crash_and_the_instance_is_replaced_after_the_delay(
        platform: DockerPlatform, client: object, tmp_path: Path) -> None:
    launches = launches_for(topology_dict(delay=1.5), tmp_path)
    await platform.start(launches, timeout=60)
    target = launches[0]
    old_pid = inspect(client, platform, "back-a-0")["State"]["Pid"]  # type: ignore[index]

    killed_at = time.monotonic()
    await platform.kill(["back-a-0"])

    state = inspect(client, platform, "back-a-0")["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137  # type: ignore[index]
    assert state_of(platform, "back-a-0") == InstanceState.DOWN
    assert not await healthy(target.health_url)
    await until(lambda: state_of(platform, "back-a-0") == InstanceState.UP, 30)
    assert time.monotonic() - killed_at >= 1.5
    assert await healthy(target.health_url)
    status = next(s for s in platform.status() if s.instance.id == "back-a-0")
    assert status.restarts == 1
    assert inspect(client, platform, "back-a-0")["State"]["Pid"] != old_pid  # type: ignore[index]
    # The others were never touched.
    assert all(s.restarts == 0 for s in platform.status() if s.instance.id != "back-a-0")


async def test_a_crash_of_the_instance_own_making_is_replaced_too(
        platform: DockerPlatform, client: object, tmp_path: Path) -> None:
    launches = launches_for(topology_dict(delay=0.2), tmp_path)
    await platform.start(launches, timeout=60)
    address = next(s.address for s in platform.status() if s.instance.id == "back-b-0")
    with contextlib.suppress(httpx.HTTPError):  # it may die before the answer is read
        httpx.get(f"http://{address}/crash", timeout=5)

    await until(lambda: state_of(platform, "back-b-0") == InstanceState.DOWN
                or next(s.restarts for s in platform.status()
                        if s.instance.id == "back-b-0") == 1, 10)
    await until(lambda: state_of(platform, "back-b-0") == InstanceState.UP, 30)
    assert next(s.restarts for s in platform.status() if s.instance.id == "back-b-0") == 1


async def test_kill_hold_keeps_the_instance_down_until_restore(
        platform: DockerPlatform, client: object, tmp_path: Path) -> None:
    launches = launches_for(topology_dict(delay=0.2), tmp_path)
    await platform.start(launches, timeout=60)

    await platform.kill(["back-c-0", "front-global-0"], hold=True)
    await asyncio.sleep(1.5)  # well past the restart delay

    for instance_id in ("back-c-0", "front-global-0"):
        status = next(s for s in platform.status() if s.instance.id == instance_id)
        assert status.state == InstanceState.DOWN and status.held
        assert inspect(client, platform, instance_id)["State"]["Status"] == "exited"  # type: ignore[index]
    await platform.restore(["back-c-0", "front-global-0"], timeout=30)
    assert [s.state for s in platform.status()] == [InstanceState.UP] * 4
    assert not any(s.held for s in platform.status())
    assert await healthy(launches[2].health_url)


async def test_pause_freezes_without_killing_and_resume_thaws(
        platform: DockerPlatform, client: object, tmp_path: Path) -> None:
    launches = launches_for(topology_dict(), tmp_path)
    await platform.start(launches, timeout=60)
    pid = inspect(client, platform, "back-a-0")["State"]["Pid"]  # type: ignore[index]

    await platform.pause(["back-a-0"])
    assert inspect(client, platform, "back-a-0")["State"]["Status"] == "paused"  # type: ignore[index]
    assert state_of(platform, "back-a-0") == InstanceState.PAUSED
    assert not await healthy(launches[0].health_url)  # accepted by the kernel, never answered
    await asyncio.sleep(0.6)  # the supervisor must not take a paused instance for dead
    assert state_of(platform, "back-a-0") == InstanceState.PAUSED

    await platform.resume(["back-a-0"])
    assert await healthy(launches[0].health_url)
    state = inspect(client, platform, "back-a-0")["State"]
    assert state["Status"] == "running" and state["Pid"] == pid  # type: ignore[index]


async def test_close_removes_every_container_of_the_run(
        platform: DockerPlatform, client: object, run_id: str, tmp_path: Path) -> None:
    launches = launches_for(topology_dict(), tmp_path)
    await platform.start(launches, timeout=60)
    await platform.kill(["back-a-0"], hold=True)
    await platform.pause(["back-b-0"])

    await platform.close()

    left = client.containers.list(all=True, filters={"label": f"chaoskit.run={run_id}"})  # type: ignore[attr-defined]
    assert left == []
    assert not RunState(run_id=run_id).path.exists()
    assert [s.state for s in platform.status()] == [InstanceState.STOPPED] * 4
    assert (tmp_path / "logs" / "back-a-0.log").exists()
    await platform.close()  # idempotent


async def test_start_failure_stops_what_it_started(
        platform: DockerPlatform, client: object, run_id: str, tmp_path: Path) -> None:
    topology = topology_dict()
    services = topology["services"]
    services[1]["command"] = [services[1]["command"][0], "-c", "import sys; sys.exit(3)"]  # type: ignore[index]
    launches = launches_for(topology, tmp_path)

    with pytest.raises(Exception, match="front-global-0 exited before it became healthy"):
        await platform.start(launches, timeout=30)
    left = client.containers.list(all=True, filters={"label": f"chaoskit.run={run_id}"})  # type: ignore[attr-defined]
    assert left == []


async def test_zones_on_two_engine_names(
        run_id: str, client: object, tmp_path: Path) -> None:
    socket = default_socket()
    if socket is None:
        pytest.skip("the default engine is not on a local unix socket to alias")
    alias = tmp_path / "docker-alias.sock"
    alias.symlink_to(socket)
    engines = {"a": f"unix://{socket}", "b": f"unix://{alias}"}
    launches = launches_for(topology_dict(engines=engines), tmp_path)
    p = DockerPlatform(RunState(run_id=run_id), run_id, tmp_path / "logs",
                       engines=Topology.model_validate(topology_dict(engines=engines)).docker.engines,  # type: ignore[union-attr]
                       say=lambda _: None)
    try:
        await p.start(launches, timeout=60)
        by_id = {s.instance.id: s for s in p.status()}
        assert by_id["back-a-0"].extra["engine"] == f"unix://{socket}"
        assert by_id["back-b-0"].extra["engine"] == f"unix://{alias}"
        assert by_id["back-c-0"].extra["engine"] == "default"
        recorded = json.loads(RunState(run_id=run_id).path.read_text())["containers"]
        assert {r["engine"] for r in recorded} == {f"unix://{socket}", f"unix://{alias}", ""}
        await p.kill(["back-b-0"])
        await until(lambda: by_state(p, "back-b-0") == InstanceState.UP, 30)
    finally:
        await p.close()
    assert client.containers.list(all=True, filters={"label": f"chaoskit.run={run_id}"}) == []  # type: ignore[attr-defined]


def by_state(p: DockerPlatform, instance_id: str) -> InstanceState:
    return state_of(p, instance_id)


async def test_killed_again_while_being_replaced_is_still_replaced(
        platform: DockerPlatform, tmp_path: Path) -> None:
    launches = launches_for(topology_dict(delay=0.3), tmp_path)
    await platform.start(launches, timeout=60)
    await platform.kill(["back-a-0"])
    await until(lambda: state_of(platform, "back-a-0") == InstanceState.STARTING, 10)

    await platform.kill(["back-a-0"])  # the replacement dies before it is healthy

    assert state_of(platform, "back-a-0") == InstanceState.DOWN
    await until(lambda: state_of(platform, "back-a-0") == InstanceState.UP, 30)
    assert next(s.restarts for s in platform.status() if s.instance.id == "back-a-0") >= 2
    assert await healthy(launches[0].health_url)


async def test_a_paused_instance_can_be_killed_and_is_replaced(
        platform: DockerPlatform, client: object, tmp_path: Path) -> None:
    launches = launches_for(topology_dict(delay=0.2), tmp_path)
    await platform.start(launches, timeout=60)
    await platform.pause(["back-b-0"])

    await platform.kill(["back-b-0"])  # a frozen task acts on SIGKILL only once thawed

    assert inspect(client, platform, "back-b-0")["State"]["Status"] == "exited"  # type: ignore[index]
    await until(lambda: state_of(platform, "back-b-0") == InstanceState.UP, 30)
    assert await healthy(launches[1].health_url)


async def test_the_image_strategy_is_reported_and_an_unreachable_engine_is_a_platform_error(
        run_id: str, client: object, tmp_path: Path) -> None:
    notes: list[str] = []
    p = DockerPlatform(RunState(run_id=run_id), run_id, tmp_path / "logs", say=notes.append)
    try:
        await p.start(launches_for(topology_dict(zones=("a",)), tmp_path), timeout=60)
    finally:
        await p.close()
    assert len(notes) == 1 and "chaoskit/" in notes[0]
    assert ("bind-mounted" in notes[0]) or ("targets/Dockerfile" in notes[0])
    assert notes[0] in (tmp_path / "logs" / "docker-platform.log").read_text()

    broken = DockerPlatform(RunState(run_id=run_id), run_id, tmp_path / "logs2",
                            engines={"a": f"unix://{tmp_path}/no-such.sock"}, say=notes.append)
    with pytest.raises(PlatformError, match="docker engine unix://"):
        await broken.start(launches_for(topology_dict(zones=("a",)), tmp_path / "b"), timeout=30)
    label = {"label": f"chaoskit.run={run_id}"}
    assert client.containers.list(all=True, filters=label) == []  # type: ignore[attr-defined]
