"""The link fabric: which links exist, their names and ports, choosing them, toxics on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chaoskit.errors import ProxyError
from chaoskit.model.topology import Selector
from chaoskit.platform.deployment import plan_launches
from chaoskit.proxy.fabric import Link, LinkFabric, ToxicSpec, needs_links, plan_links
from chaoskit.state import RunState
from tests.unit.faults.network_support import (
    EXPECTED_LINKS,
    deployed,
    experiment,
    topology,
)

UNUSED_API = "http://127.0.0.1:9"
"""Planning never calls the API."""


def names(links: list[Link]) -> set[str]:
    return {link.name for link in links}


def test_one_link_per_reachable_pair_named_caller_dash_dash_upstream() -> None:
    fabric = LinkFabric(topology(), UNUSED_API)
    assert names(list(fabric.links)) == EXPECTED_LINKS
    assert len(fabric.links) == len(plan_links(topology())) == len(EXPECTED_LINKS)


def test_link_and_instance_ports_are_all_distinct_and_on_loopback() -> None:
    fabric = LinkFabric(topology(), UNUSED_API)
    ports = [*(p for named in fabric.instance_ports.values() for p in named.values()),
             *(link.port for link in fabric.links)]
    assert len(set(ports)) == len(ports) == 8 + len(EXPECTED_LINKS)
    assert all(link.listen.startswith("127.0.0.1:") for link in fabric.links)


def test_launches_dial_the_links_and_only_links(tmp_path: Path) -> None:
    fabric = LinkFabric(topology(), UNUSED_API)
    launches = plan_launches(topology(), base_dir=".", data_dir=tmp_path,
                             link_address=fabric.link_address, ports=fabric.instance_ports)
    gateway = next(la for la in launches if la.instance.id == "gateway-us-east-1b-0")
    upstreams = json.loads(gateway.env["CHAOSKIT_UPSTREAMS"])
    link = fabric.select(Selector(instance="playback-us-east-1b-0"))[0]
    assert upstreams["playback"] == [{"instance": "playback-us-east-1b-0", "zone": "us-east-1b",
                                      "region": "us-east", "url": f"http://{link.listen}"}]
    # Instances still listen where plan_launches was told, so the links' upstreams are right.
    assert {la.instance.id: dict(la.ports) for la in launches} == fabric.instance_ports


def test_an_unplanned_pair_is_refused() -> None:
    fabric = LinkFabric(topology(), UNUSED_API)
    edge = fabric.select(caller=Selector(service="edge"))[0].caller
    playback = fabric.select(Selector(service="playback"))[0].upstream
    with pytest.raises(ProxyError, match="no link planned"):
        fabric.link_address(edge, playback, "127.0.0.1:1")


def test_select_by_upstream_and_caller() -> None:
    fabric = LinkFabric(topology(), UNUSED_API)
    assert names(fabric.select(Selector(service="ratings"))) == {
        "gateway-us-east-1a-0--ratings-us-east-0", "gateway-us-east-1b-0--ratings-us-east-0"}
    # ratings-us-east-0 is placed in us-east-1a, so us-east-1b's gateway reaches into 1a.
    assert names(fabric.select(Selector(zone="us-east-1a"))) == {
        "edge-global-0--gateway-us-east-1a-0", "gateway-us-east-1a-0--playback-us-east-1a-0",
        "gateway-us-east-1a-0--ratings-us-east-0", "gateway-us-east-1b-0--ratings-us-east-0"}
    from_gateways = fabric.select(caller=Selector(service="gateway"))
    assert len(from_gateways) == 5
    assert fabric.select(Selector(service="gateway"), Selector(service="gateway")) == []
    assert len(fabric.select()) == len(EXPECTED_LINKS)


def test_crossing_links_leave_the_inside_of_a_zone_up() -> None:
    fabric = LinkFabric(topology(), UNUSED_API)
    # gateway-1a → playback-1a and → ratings-us-east-0 are both inside us-east-1a.
    assert names(fabric.crossing(Selector(zone="us-east-1a"))) == {
        "edge-global-0--gateway-us-east-1a-0", "gateway-us-east-1b-0--ratings-us-east-0"}
    assert names(fabric.crossing(Selector(region="eu-west"))) == {
        "edge-global-0--gateway-eu-west-1a-0"}


def test_namespace_keeps_runs_apart_on_a_shared_server() -> None:
    fabric = LinkFabric(topology(), UNUSED_API, namespace="run42")
    assert all(link.name.startswith("run42--") for link in fabric.links)


@pytest.mark.parametrize(("method", "requested", "expected"), [
    ([], None, False),
    ([{"fault": "zone_outage", "zone": "us-east-1a"}], None, False),
    ([{"fault": "zone_outage", "zone": "us-east-1a", "mode": "isolate"}], None, True),
    ([{"fault": "region_outage", "region": "us-east", "mode": "isolate"}], None, True),
    ([{"fault": "instance_kill", "service": "playback"},
      {"fault": "latency", "service": "playback", "latency": 100}], None, True),
    ([{"fault": "partition", "zone": "us-east-1b"}], None, True),
    ([{"fault": "limit_data", "bytes": 10}], None, True),
    ([{"fault": "latency", "latency": 100}], False, False),
    ([], True, True),
])
def test_needs_links(method: list[dict[str, Any]], requested: bool | None,
                     expected: bool) -> None:
    assert needs_links(experiment(method).method, requested) is expected


async def test_create_makes_exactly_the_links_and_close_removes_them(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        proxies = await d.api.proxies()
        assert set(proxies) == EXPECTED_LINKS
        for link in d.fabric.links:
            assert proxies[link.name].listen == link.listen
            assert proxies[link.name].upstream == d.ctx.launch(link.upstream.id).address
        await d.fabric.close()
        assert await d.api.proxies() == {}
        await d.fabric.close()  # idempotent


async def test_an_external_server_gets_each_proxy_recorded_until_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    state = RunState(run_id="fabric-test")
    async with deployed(tmp_path, state=state) as d:
        recorded = {p.name for p in RunState.load(state.path).proxies}
        assert recorded == EXPECTED_LINKS
        assert {p.api for p in state.proxies} == {d.fabric.api}
        await d.fabric.close()
        assert RunState.load(state.path).proxies == []


async def test_toxics_go_on_the_chosen_links_only_and_come_off_exactly(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        chosen = d.fabric.select(Selector(service="playback", zone="us-east-1a"))
        other = d.fabric.select(Selector(service="ratings"))[0]
        await d.api.add_toxic(other.name, "latency", attributes={"latency": 5}, name="theirs")
        specs = [ToxicSpec("latency", "downstream", {"latency": 100}),
                 ToxicSpec("latency", "upstream", {"latency": 100})]
        first = await d.fabric.add_toxics(chosen, specs)
        second = await d.fabric.add_toxics(chosen, specs[:1])  # overlapping faults never collide
        toxics = await d.api.toxics(chosen[0].name)
        assert {(t.type, t.stream) for t in toxics} == {("latency", "downstream"),
                                                         ("latency", "upstream")}
        assert len(toxics) == 3
        await d.fabric.remove_toxics(first)
        assert [t.name for t in await d.api.toxics(chosen[0].name)] == [second[0].toxic]
        await d.fabric.remove_toxics(second)
        await d.fabric.remove_toxics(second)  # already gone: not an error
        assert await d.api.toxics(chosen[0].name) == []
        assert [t.name for t in await d.api.toxics(other.name)] == ["theirs"]


async def test_adding_toxics_is_all_or_nothing(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        links = d.fabric.select(Selector(service="playback"))
        good = ToxicSpec("latency", "downstream", {"latency": 100})
        bad = ToxicSpec("bandwidth", "downstream", {"rate": 0})  # the server refuses rate 0
        with pytest.raises(ProxyError, match="failed"):
            await d.fabric.add_toxics(links, [good, bad])
        for link in links:
            assert await d.api.toxics(link.name) == []


async def test_disabled_links_refuse_and_come_back_on_the_same_port(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        links = d.fabric.select(Selector(service="ratings"))
        await d.fabric.set_enabled(links, False)
        assert not any(p.enabled for p in (await d.api.proxies()).values()
                       if p.name in names(links))
        await d.fabric.set_enabled(links, True)
        proxies = await d.api.proxies()
        assert all(proxies[link.name].enabled and proxies[link.name].listen == link.listen
                   for link in links)
