"""Each fault spec says which topology instances it acts on: one Selector, built in one place."""

from __future__ import annotations

from chaoskit.model.faults import (
    InstanceKill,
    Latency,
    Partition,
    Pause,
    RegionOutage,
    Timeout,
    ZoneOutage,
)
from chaoskit.model.topology import Selector


def test_instance_faults_select_by_their_labels() -> None:
    kill = InstanceKill(fault="instance_kill", service="playback", zone="us-east-1a")
    assert kill.selector == Selector(service="playback", zone="us-east-1a")
    assert Pause(fault="pause", region="eu-west").selector == Selector(region="eu-west")


def test_outages_select_their_whole_zone_or_region() -> None:
    assert ZoneOutage(fault="zone_outage", zone="us-east-1b").selector == \
        Selector(zone="us-east-1b")
    assert RegionOutage(fault="region_outage", region="us-east", mode="isolate").selector == \
        Selector(region="us-east")


def test_link_faults_select_the_upstream_side_and_optionally_the_callers() -> None:
    slow = Latency(fault="latency", latency=100, instance="ratings-eu-west-0", caller="gateway")
    assert slow.selector == Selector(instance="ratings-eu-west-0")
    assert slow.caller_selector == Selector(service="gateway")
    cut = Partition(fault="partition")
    assert cut.selector == Selector()
    assert cut.caller_selector is None
    assert Timeout(fault="timeout", timeout=0, zone="z1").selector == Selector(zone="z1")
