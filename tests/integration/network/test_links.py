"""Links on real sockets: created and removed exactly, slowed, cut and healed.

Every test runs against the embedded server (a child process, as ``chaoskit
run`` starts it) and against the real toxiproxy when it is installed.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import httpx
import pytest

from chaoskit.faults import build
from chaoskit.model.faults import Latency, Partition, ZoneOutage
from chaoskit.model.topology import Selector
from chaoskit.proxy.client import ToxiproxyClient
from chaoskit.proxy.errors import ProxyUnavailable
from chaoskit.proxy.servers import ServerKind
from tests.integration.network.conftest import linked, nothing_left, timed_get

pytestmark = pytest.mark.integration

LINKS = {f"front-global-0--backend-z{z}-0" for z in (1, 2, 3)}


@pytest.fixture(params=["embedded", "toxiproxy"])
def kind(request: pytest.FixtureRequest) -> ServerKind:
    return request.param  # type: ignore[no-any-return]


async def test_the_fabric_creates_exactly_the_links_and_leaves_nothing(
    tmp_path: Path, kind: ServerKind, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with linked(tmp_path, kind, monkeypatch) as net:
        proxies = await net.api.proxies()
        assert set(proxies) == LINKS
        for link in net.fabric.links:
            assert proxies[link.name].upstream == net.ctx.launch(link.upstream.id).address
            # The front really dials the link, and the link reaches the backend.
            await timed_get(f"http://{link.listen}/health")
        await net.fabric.close()
        assert await net.api.proxies() == {}
    nothing_left(net)
    async with ToxiproxyClient(net.server.url, timeout=1.0) as api:
        with pytest.raises(ProxyUnavailable):  # the server chaoskit started is gone too
            await api.version()


async def test_latency_delays_one_link_and_the_revert_removes_it(
    tmp_path: Path, kind: ServerKind, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with linked(tmp_path, kind, monkeypatch) as net:
        slow_link = net.fabric.select(Selector(zone="z1"))[0]
        fast_link = net.fabric.select(Selector(zone="z2"))[0]
        fault = build(Latency(fault="latency", zone="z1", latency=1000))
        injection = await fault.inject(net.ctx)
        assert injection.targets == (slow_link.name,)
        assert await timed_get(f"http://{slow_link.listen}/health") >= 0.95
        assert await timed_get(f"http://{fast_link.listen}/health") < 0.9
        await fault.revert(net.ctx, injection)
        after = [await timed_get(f"http://{slow_link.listen}/health") for _ in range(3)]
        assert statistics.median(after) < 0.5, after
        assert await net.api.toxics(slow_link.name) == []
    nothing_left(net)


async def test_zone_isolate_cuts_the_zone_and_heal_restores_it(
    tmp_path: Path, kind: ServerKind, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with linked(tmp_path, kind, monkeypatch) as net:
        cut = net.fabric.select(Selector(zone="z3"))[0]
        fault = build(ZoneOutage(fault="zone_outage", zone="z3", mode="isolate"))
        injection = await fault.inject(net.ctx)
        assert injection.targets == (cut.name,)
        with pytest.raises(httpx.TimeoutException):  # a blackhole: no answer, no error
            await timed_get(f"http://{cut.listen}/health", timeout=1.0)
        for link in net.fabric.select(Selector(zone="z1")) + net.fabric.select(Selector(zone="z2")):
            await timed_get(f"http://{link.listen}/health")
        await fault.revert(net.ctx, injection)
        await timed_get(f"http://{cut.listen}/health")
        assert await net.api.toxics(cut.name) == []
    nothing_left(net)


async def test_partition_refuse_refuses_connects_and_revert_reopens_the_same_port(
    tmp_path: Path, kind: ServerKind, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with linked(tmp_path, kind, monkeypatch) as net:
        link = net.fabric.select(Selector(zone="z2"))[0]
        fault = build(Partition(fault="partition", zone="z2", mode="refuse"))
        injection = await fault.inject(net.ctx)
        assert injection.targets == (link.name,)
        with pytest.raises(httpx.ConnectError):  # refused at once, not a timeout
            await timed_get(f"http://{link.listen}/health", timeout=2.0)
        await fault.revert(net.ctx, injection)
        await timed_get(f"http://{link.listen}/health")  # the caller's address is unchanged
    nothing_left(net)
