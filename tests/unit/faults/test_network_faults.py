"""Network faults against a fabric on an in-process server: the right links, exact reverts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from chaoskit.context import RunContext
from chaoskit.errors import FaultError
from chaoskit.faults import build
from chaoskit.faults.network import heal, isolate
from chaoskit.model import History
from chaoskit.model.topology import Selector
from chaoskit.platform.fake import FakePlatform
from chaoskit.proxy.client import ToxiproxyClient
from tests.unit.faults.network_support import EXPECTED_LINKS, deployed, experiment


async def toxics_by_link(api: ToxiproxyClient) -> dict[str, set[tuple[str, str]]]:
    return {name: {(t.type, t.stream) for t in proxy.toxics}
            for name, proxy in (await api.proxies()).items() if proxy.toxics}


async def test_latency_on_one_zone_touches_only_its_links_and_reverts_exactly(
    tmp_path: Path,
) -> None:
    async with deployed(tmp_path) as d:
        ex = experiment([{"fault": "latency", "service": "playback", "zone": "us-east-1a",
                          "latency": 2000}])
        fault = build(ex.method[0])
        injection = await fault.inject(d.ctx)
        assert injection.targets == ("gateway-us-east-1a-0--playback-us-east-1a-0",)
        assert await toxics_by_link(d.api) == {
            "gateway-us-east-1a-0--playback-us-east-1a-0": {("latency", "downstream")}}
        toxic = (await d.api.toxics(injection.targets[0]))[0]
        assert dict(toxic.attributes) == {"latency": 2000, "jitter": 0}
        await fault.revert(d.ctx, injection)
        assert await toxics_by_link(d.api) == {}


async def test_caller_keeps_only_links_from_that_service(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        fault = build(experiment([{"fault": "bandwidth", "zone": "us-east-1a", "rate": 10,
                                   "caller": "edge"}]).method[0])
        injection = await fault.inject(d.ctx)
        assert injection.targets == ("edge-global-0--gateway-us-east-1a-0",)
        await fault.revert(d.ctx, injection)


async def test_no_matching_link_is_a_fault_error_naming_the_choice(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        fault = build(experiment([{"fault": "latency", "service": "ratings", "latency": 1,
                                   "caller": "edge"}]).method[0])
        with pytest.raises(FaultError, match="no link to service=ratings from edge"):
            await fault.inject(d.ctx)
        assert await toxics_by_link(d.api) == {}


async def test_without_a_fabric_a_network_fault_says_why(tmp_path: Path) -> None:
    ctx = RunContext(experiment=experiment(), platform=FakePlatform(), launches=[],
                     history=History(), run_dir=tmp_path, rng=random.Random(1))
    fault = build(experiment([{"fault": "latency", "latency": 1}]).method[0])
    with pytest.raises(FaultError, match="link fabric"):
        await fault.inject(ctx)


async def test_partition_blackholes_both_ways_by_default(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        fault = build(experiment([{"fault": "partition", "service": "ratings"}]).method[0])
        injection = await fault.inject(d.ctx)
        both = {("timeout", "upstream"), ("timeout", "downstream")}
        assert await toxics_by_link(d.api) == {name: both for name in injection.targets}
        assert len(injection.targets) == 2
        await fault.revert(d.ctx, injection)
        assert await toxics_by_link(d.api) == {}


async def test_partition_refuse_disables_the_proxies_and_revert_enables_them(
    tmp_path: Path,
) -> None:
    async with deployed(tmp_path) as d:
        fault = build(experiment([{"fault": "partition", "mode": "refuse",
                                   "instance": "playback-eu-west-1a-0"}]).method[0])
        injection = await fault.inject(d.ctx)
        proxies = await d.api.proxies()
        assert [n for n, p in proxies.items() if not p.enabled] == list(injection.targets)
        await fault.revert(d.ctx, injection)
        assert all(p.enabled for p in (await d.api.proxies()).values())


async def test_zone_isolate_cuts_the_crossing_links_and_heal_restores(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        fault = build(experiment([{"fault": "zone_outage", "zone": "us-east-1a",
                                   "mode": "isolate"}]).method[0])
        injection = await fault.inject(d.ctx)
        cut = {"edge-global-0--gateway-us-east-1a-0", "gateway-us-east-1b-0--ratings-us-east-0"}
        assert set(injection.targets) == cut
        both = {("timeout", "upstream"), ("timeout", "downstream")}
        assert await toxics_by_link(d.api) == dict.fromkeys(cut, both)
        platform = d.ctx.platform
        assert isinstance(platform, FakePlatform)
        assert platform.calls == [("start", tuple(i.id for i in d.ctx.instances))]  # none killed
        await fault.revert(d.ctx, injection)
        assert await toxics_by_link(d.api) == {}
        assert set(await d.api.proxies()) == EXPECTED_LINKS


async def test_isolate_of_something_without_links_is_refused(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        with pytest.raises(FaultError, match="nothing to isolate"):
            await isolate(d.ctx, Selector(service="nope"))


async def test_overlapping_faults_on_one_link_revert_independently(tmp_path: Path) -> None:
    async with deployed(tmp_path) as d:
        region = await isolate(d.ctx, Selector(region="eu-west"))
        latency = build(experiment([{"fault": "latency", "zone": "eu-west-1a",
                                     "caller": "edge", "latency": 50}]).method[0])
        slow = await latency.inject(d.ctx)
        await heal(d.ctx, region)
        assert await toxics_by_link(d.api) == {
            "edge-global-0--gateway-eu-west-1a-0": {("latency", "downstream")}}
        await latency.revert(d.ctx, slow)
        assert await toxics_by_link(d.api) == {}
