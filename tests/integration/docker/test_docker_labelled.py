"""Pumba-style faults on a user's own containers: only chaoskit.enable=true is ever hit."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from docker.types import Mount

from chaoskit.errors import ConfigError, FaultError
from chaoskit.faults.container_kill import ContainerKillFault
from chaoskit.faults.container_pause import ContainerPauseFault
from chaoskit.faults.container_stop import ContainerStopFault
from chaoskit.model.faults import ContainerKill, ContainerPause, ContainerStop
from chaoskit.platform.docker_image import import_runtime
from chaoskit.platform.labelled import LabelledContainers

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.timeout(120)]

Make = Callable[..., Any]


@pytest.fixture
def app() -> str:
    """A label value no other container on the engine carries."""
    return f"web-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make(client: Any, app: str) -> Iterator[Make]:
    """Start a "user's" container (sleep, as PID 1); all are removed at the end, pass or fail."""
    image = import_runtime(client)
    made: list[Any] = []

    def _make(name: str, labels: dict[str, str], restart: str = "no") -> Any:
        container = client.containers.run(
            image, ["/bin/sleep", "600"], name=f"{app}-{name}", detach=True,
            labels={"app": app, **labels}, restart_policy={"Name": restart},
            mounts=[Mount(target="/usr", source="/usr", type="bind", read_only=True)],
            network_mode="none")
        made.append(container)
        return container

    yield _make
    for container in made:
        container.remove(force=True, v=True)


def ctx() -> Any:
    # The container faults use only the run's seeded generator from the context.
    return SimpleNamespace(rng=random.Random(7))


def status(container: Any) -> str:
    container.reload()
    return str(container.status)


async def test_only_opted_in_containers_are_ever_selected(make: Make, app: str) -> None:
    enabled = make("enabled", {"chaoskit.enable": "true", "tier": "front"})
    make("no-label", {"tier": "front"})
    make("disabled", {"chaoskit.enable": "false", "tier": "front"})
    make("other-tier", {"chaoskit.enable": "true", "tier": "back"})
    engine = LabelledContainers()
    try:
        chosen = engine.select({"app": app, "tier": "front"})
        assert [t.id for t in chosen] == [enabled.id]
        with pytest.raises(ConfigError, match="only be 'true'"):
            engine.select({"app": app, "chaoskit.enable": "false"})
        with pytest.raises(ConfigError, match="at least one label"):
            engine.select({"chaoskit.enable": "true"})
    finally:
        engine.close()


async def test_kill_hits_only_opted_in_and_revert_starts_it(make: Make, app: str) -> None:
    enabled = make("enabled", {"chaoskit.enable": "true"})
    bystanders = [make("no-label", {}), make("disabled", {"chaoskit.enable": "no"})]
    fault = ContainerKillFault(ContainerKill(fault="container_kill", labels={"app": app},
                                             percent=100))

    injection = await fault.inject(ctx())

    assert injection.targets == (f"{app}-enabled",)
    assert status(enabled) == "exited"
    assert all(status(c) == "running" for c in bystanders)
    await fault.revert(ctx(), injection)
    assert status(enabled) == "running"


async def test_crash_mode_lets_the_container_own_restart_policy_replace_it(
        make: Make, app: str) -> None:
    enabled = make("enabled", {"chaoskit.enable": "true"}, restart="always")
    fault = ContainerKillFault(ContainerKill(fault="container_kill", labels={"app": app},
                                             mode="crash"))
    injection = await fault.inject(ctx())
    assert injection.targets == (f"{app}-enabled",)
    for _ in range(100):
        enabled.reload()
        if enabled.attrs["RestartCount"] >= 1 and enabled.status == "running":
            break
        await asyncio.sleep(0.1)
    assert enabled.attrs["RestartCount"] >= 1, "the engine's restart policy did not fire"
    await fault.revert(ctx(), injection)
    assert status(enabled) == "running"


async def test_dry_run_lists_exactly_what_would_be_hit_and_injects_nothing(
        make: Make, app: str) -> None:
    enabled = [make(f"e{i}", {"chaoskit.enable": "true"}) for i in range(2)]
    bystander = make("no-label", {})
    for spec, fault_type in (
        (ContainerPause(fault="container_pause", labels={"app": app}, dry_run=True),
         ContainerPauseFault),
        (ContainerKill(fault="container_kill", labels={"app": app}, percent=100, dry_run=True),
         ContainerKillFault),
        (ContainerStop(fault="container_stop", labels={"app": app}, count=2, dry_run=True),
         ContainerStopFault),
    ):
        fault = fault_type(spec)  # type: ignore[operator]
        assert "(dry run)" in fault.describe()
        assert [p.split(" ")[0] for p in fault.preview([])] == [f"{app}-e0", f"{app}-e1"]
        injection = await fault.inject(ctx())
        assert sorted(injection.targets) == [f"{app}-e0", f"{app}-e1"]
        assert "dry run" in injection.detail
        assert all(status(c) == "running" for c in [*enabled, bystander])
        await fault.revert(ctx(), injection)
        assert all(status(c) == "running" for c in [*enabled, bystander])


async def test_pause_and_stop_then_revert(make: Make, app: str) -> None:
    enabled = [make(f"e{i}", {"chaoskit.enable": "true"}) for i in range(3)]
    bystander = make("no-label", {})

    pause = ContainerPauseFault(ContainerPause(fault="container_pause", labels={"app": app}))
    injection = await pause.inject(ctx())
    assert [status(c) for c in enabled] == ["paused"] * 3
    assert status(bystander) == "running"
    await pause.revert(ctx(), injection)
    assert [status(c) for c in enabled] == ["running"] * 3

    stop = ContainerStopFault(ContainerStop(fault="container_stop", labels={"app": app},
                                            count=2, timeout=1))
    injection = await stop.inject(ctx())
    assert len(injection.targets) == 2
    assert sorted(status(c) for c in enabled) == ["exited", "exited", "running"]
    assert status(bystander) == "running"
    await stop.revert(ctx(), injection)
    assert [status(c) for c in enabled] == ["running"] * 3


async def test_no_match_is_an_error_not_a_silent_no_op(make: Make, app: str) -> None:
    make("no-label", {})
    fault = ContainerKillFault(ContainerKill(fault="container_kill", labels={"app": app}))
    with pytest.raises(FaultError, match=r"no running container labelled chaoskit\.enable=true"):
        await fault.inject(ctx())
