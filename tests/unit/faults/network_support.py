"""A small topology with every locality, and a fabric on an in-process proxy server.

Shared by the fabric's and the network faults' unit tests: no process is
started; the embedded server runs on the test's own event loop.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoskit.context import RunContext
from chaoskit.model import Experiment, History
from chaoskit.model.topology import Topology
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.fake import FakePlatform
from chaoskit.proxy.client import ToxiproxyClient
from chaoskit.proxy.fabric import LinkFabric
from chaoskit.proxy.server import ProxyServer
from chaoskit.state import RunState

TOPOLOGY: dict[str, Any] = {
    "name": "links",
    "regions": [{"name": "us-east", "zones": ["us-east-1a", "us-east-1b"]},
                {"name": "eu-west", "zones": ["eu-west-1a"]}],
    "services": [
        {"name": "playback", "command": ["python", "-c", "pass"]},
        {"name": "ratings", "command": ["python", "-c", "pass"], "scope": "region",
         "regions": ["us-east"]},
        {"name": "gateway", "command": ["python", "-c", "pass"],
         "depends_on": [{"service": "playback", "locality": "zone"},
                        {"service": "ratings", "locality": "region"}]},
        {"name": "edge", "command": ["python", "-c", "pass"], "scope": "global",
         "depends_on": [{"service": "gateway", "locality": "global"}]},
    ],
    "entrypoint": "edge",
}
"""Links: edge → each of 3 gateways; each gateway → its zone's playback; the two
us-east gateways → ratings-us-east-0 (in us-east-1a); eu-west has no ratings."""

EXPECTED_LINKS = {
    "edge-global-0--gateway-us-east-1a-0", "edge-global-0--gateway-us-east-1b-0",
    "edge-global-0--gateway-eu-west-1a-0",
    "gateway-us-east-1a-0--playback-us-east-1a-0", "gateway-us-east-1b-0--playback-us-east-1b-0",
    "gateway-eu-west-1a-0--playback-eu-west-1a-0",
    "gateway-us-east-1a-0--ratings-us-east-0", "gateway-us-east-1b-0--ratings-us-east-0",
}


def topology() -> Topology:
    return Topology.model_validate(TOPOLOGY)


def experiment(method: list[dict[str, Any]] | None = None) -> Experiment:
    return Experiment.model_validate({
        "title": "links", "topology": TOPOLOGY, "method": method or [],
        "steady_state": [{"name": "up", "probe": "instances", "tolerance": {"min": 1}}],
    })


@dataclass
class Deployed:
    """A planned deployment whose links exist on a live in-process server."""

    ctx: RunContext
    fabric: LinkFabric
    api: ToxiproxyClient


@asynccontextmanager
async def deployed(tmp: Path, *, state: RunState | None = None) -> AsyncIterator[Deployed]:
    server = ProxyServer()
    await server.start("127.0.0.1", 0)
    fabric = LinkFabric(topology(), server.url, state=state)
    api = ToxiproxyClient(server.url)
    try:
        launches = plan_launches(topology(), base_dir=".", data_dir=tmp / "data",
                                 link_address=fabric.link_address, ports=fabric.instance_ports)
        await fabric.create()
        platform = FakePlatform()
        await platform.start(launches)
        ctx = RunContext(experiment=experiment(), platform=platform, launches=launches,
                         history=History(), run_dir=tmp, rng=random.Random(7), fabric=fabric)
        yield Deployed(ctx, fabric, api)
    finally:
        await fabric.close()
        await api.aclose()
        await server.close()
