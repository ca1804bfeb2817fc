"""Real links: echo instances on the local platform, proxies on a real proxy server.

``linked`` starts the server a test is parametrised with (the embedded one as
a child process, or the real toxiproxy; skipped when there is none), builds the
fabric, starts the instances dialling their links, and tears everything down
in the runner's order: links, server, instances.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chaoskit.context import RunContext
from chaoskit.model import Experiment, History
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.local import LocalPlatform
from chaoskit.proxy.client import ToxiproxyClient
from chaoskit.proxy.fabric import LinkFabric
from chaoskit.proxy.servers import ProxyServerHandle, ServerKind, find_toxiproxy, open_proxy_server
from chaoskit.state import RunState
from tests.integration.platform.echo_topology import HERE, echo_topology, marked_pids
from tests.integration.runner.conftest import chaoskit  # noqa: F401  (the CLI runs' fixture)

NO_TOXIPROXY = ("real toxiproxy not found: set CHAOSKIT_TOXIPROXY_SERVER or "
                "CHAOSKIT_TOXIPROXY_URL, or install toxiproxy-server")


@dataclass
class Linked:
    ctx: RunContext
    fabric: LinkFabric
    api: ToxiproxyClient
    server: ProxyServerHandle
    state: RunState
    marker: str


@asynccontextmanager
async def linked(tmp: Path, kind: ServerKind, monkeypatch: pytest.MonkeyPatch,
                 ) -> AsyncIterator[Linked]:
    if kind == "toxiproxy" and find_toxiproxy() is None:
        pytest.skip(NO_TOXIPROXY)
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp / "state"))
    marker = uuid.uuid4().hex
    topology = echo_topology(marker)
    state = RunState(run_id=f"links-{marker[:8]}")
    server = await open_proxy_server(kind, state, in_process=False)
    fabric = LinkFabric(topology, server.url)
    platform = LocalPlatform(state, tmp / "logs")
    api = ToxiproxyClient(server.url)
    try:
        launches = plan_launches(topology, base_dir=str(HERE), data_dir=tmp / "data",
                                 link_address=fabric.link_address, ports=fabric.instance_ports)
        await fabric.create()
        await platform.start(launches)
        experiment = Experiment.model_validate({
            "title": "links", "topology": topology.model_dump(),
            "steady_state": [{"name": "up", "probe": "instances", "tolerance": {"min": 1}}]})
        ctx = RunContext(experiment=experiment, platform=platform, launches=launches,
                         history=History(), run_dir=tmp, rng=random.Random(7), fabric=fabric)
        yield Linked(ctx, fabric, api, server, state, marker)
    finally:
        await fabric.close()
        await api.aclose()
        await server.close()
        await platform.close()


async def timed_get(url: str, timeout: float = 5.0) -> float:
    """Seconds one GET took, on a fresh connection (a cut link kills pooled ones)."""
    async with httpx.AsyncClient(timeout=timeout) as http:
        start = time.monotonic()
        response = await http.get(url)
        response.raise_for_status()
        return time.monotonic() - start


def nothing_left(linked: Linked) -> None:
    assert marked_pids(linked.marker) == []
    assert linked.state.processes == []
    assert linked.state.proxies == []
