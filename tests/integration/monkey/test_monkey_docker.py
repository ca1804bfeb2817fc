"""The monkey on a user's own labelled containers, on the real Docker engine.

Three work days in 15 s (``time_scale`` 17280, every work day a kill: mean 1d): each
kill is a ``container_kill`` of one opted-in container (started again by the revert),
the container without ``chaoskit.enable=true`` is never touched, and nothing is left.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

docker = pytest.importorskip("docker")

from docker.types import Mount  # noqa: E402

from chaoskit.monkey import KillLog, MonkeyOptions, run_monkey_async  # noqa: E402
from chaoskit.monkey.config import ContainerGroup, MonkeyConfig, ScheduleSpec  # noqa: E402
from chaoskit.platform.docker_image import import_runtime  # noqa: E402
from tests.integration.docker.conftest import _NO_ENGINE  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if _NO_ENGINE is not None:
        pytest.skip(f"no Docker engine answers docker.from_env().ping(): {_NO_ENGINE}")
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    c = docker.from_env(timeout=30)
    yield c
    c.close()


@pytest.fixture
def containers(client: Any) -> Iterator[tuple[str, list[Any]]]:
    """Two opted-in containers and one that did not opt in; removed at the end."""
    app = f"monkey-{uuid.uuid4().hex[:8]}"
    image = import_runtime(client)
    made = []
    for name, enable in (("a", "true"), ("b", "true"), ("out", "false")):
        made.append(client.containers.run(
            image, ["/bin/sleep", "600"], name=f"{app}-{name}", detach=True,
            labels={"app": app, "chaoskit.enable": enable}, restart_policy={"Name": "no"},
            mounts=[Mount(target="/usr", source="/usr", type="bind", read_only=True)],
            network_mode="none"))
    yield app, made
    for container in made:
        container.remove(force=True, v=True)


async def test_the_monkey_kills_opted_in_containers_on_schedule(
        tmp_path: Path, containers: tuple[str, list[Any]]) -> None:
    app, (a, b, out) = containers
    for container in (a, b, out):
        container.reload()
    started = {c.name: c.attrs["State"]["StartedAt"] for c in (a, b, out)}
    config = MonkeyConfig(
        title=f"monkey on {app}", containers=(ContainerGroup(labels={"app": app}),),
        schedule=ScheduleSpec(mean_time_between_kills=1, hours={"start": 9, "end": 15,
                                                                "time_zone": "UTC"}),
        leashed=False, seed=3)
    start = dt.datetime(2026, 12, 7, 8, 59, tzinfo=dt.UTC).timestamp()  # a Monday
    result = await run_monkey_async(config, MonkeyOptions(
        time_scale=17280, start=start, days=3, log_path=tmp_path / "kills.sqlite3",
        reports_dir=tmp_path / "reports", quiet=True))
    kills = result.kills
    assert len(kills) == 3, result.decisions
    assert {k.target for k in kills} <= {a.name, b.name}
    assert len(KillLog(tmp_path / "kills.sqlite3").decisions()) == 3
    for container in (a, b):
        container.reload()
        assert container.status == "running"  # the revert started it again
        if container.name in {k.target for k in kills}:
            assert container.attrs["State"]["StartedAt"] != started[container.name]
    out.reload()
    assert out.attrs["State"]["StartedAt"] == started[out.name] and out.status == "running"
    assert not list((tmp_path / "state").glob("*.json"))
    assert result.report is not None and result.report.exists()
