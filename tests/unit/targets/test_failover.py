"""Region routing: home regions, failover on an unhealthy region, gradual evacuation."""

from __future__ import annotations

import pytest

from targets.patterns.failover import RegionRouter
from tests.unit.fake_clock import FakeClock

USERS = [f"user-{i}" for i in range(400)]


def spread(router: RegionRouter) -> dict[str, int]:
    counts = dict.fromkeys(router.regions, 0)
    for user in USERS:
        counts[router.choose(user)] += 1
    return counts


def test_users_have_a_stable_home_region_and_both_regions_get_users() -> None:
    router = RegionRouter(["eu-west", "us-east"])
    assert all(router.home(u) == router.home(u) for u in USERS)
    counts = spread(router)
    assert min(counts.values()) > 100


def test_an_unhealthy_region_is_tried_last_with_failover() -> None:
    router = RegionRouter(["eu-west", "us-east"])
    router.healthy["us-east"] = False
    assert router.candidates("us-east", idempotent=True) == ["eu-west", "us-east"]
    assert router.candidates("us-east", idempotent=False) == ["eu-west"]


def test_without_failover_the_home_region_is_the_only_candidate() -> None:
    router = RegionRouter(["eu-west", "us-east"], failover=False)
    router.healthy["us-east"] = False
    assert router.candidates("us-east", idempotent=True) == ["us-east"]


async def test_evacuation_moves_users_step_by_step_then_fails_back() -> None:
    clock = FakeClock()
    router = RegionRouter(["eu-west", "us-east"], clock=clock, sleep=clock.sleep)
    home_east = [u for u in USERS if router.home(u) == "us-east"]
    router.shift("us-east", [0.25, 0.5, 1.0], step_seconds=30)
    await clock.advance(0)
    moved_first = {u for u in home_east if router.choose(u) == "eu-west"}
    assert 0.1 < len(moved_first) / len(home_east) < 0.4
    await clock.advance(29.9)
    assert router.evacuated["us-east"] == 0.25  # a step lasts its full step_seconds
    await clock.advance(0.1)
    moved_second = {u for u in home_east if router.choose(u) == "eu-west"}
    assert router.evacuated["us-east"] == 0.5
    assert moved_first < moved_second  # sticky: who moved stays moved
    await clock.advance(30)
    assert spread(router)["us-east"] == 0 and router.evacuated["us-east"] == 1.0
    router.shift("us-east", [0.5, 0.0], step_seconds=30)
    assert router.evacuated["us-east"] == 0.5
    await clock.advance(30)
    assert router.evacuated["us-east"] == 0.0 and spread(router)["us-east"] == len(home_east)
    assert clock.pending() == 0  # the shifts are over
    await router.stop()


async def test_a_new_shift_replaces_the_one_in_progress() -> None:
    clock = FakeClock()
    router = RegionRouter(["eu-west", "us-east"], clock=clock, sleep=clock.sleep)
    router.shift("us-east", [0.25, 0.5, 0.75, 1.0], step_seconds=30)
    await clock.advance(30)
    router.shift("us-east", [0.0], step_seconds=30)  # failback mid-evacuation
    await clock.advance(120)
    assert router.evacuated["us-east"] == 0.0  # the old steps never resume
    await router.stop()


async def test_the_last_region_cannot_be_evacuated() -> None:
    router = RegionRouter(["eu-west", "us-east"])
    router.shift("eu-west", [1.0], step_seconds=0)
    with pytest.raises(ValueError, match="no other region"):
        router.shift("us-east", [1.0], step_seconds=0)
    with pytest.raises(ValueError, match="unknown region"):
        router.shift("ap-south", [1.0], step_seconds=0)
    await router.stop()


def test_traffic_shares_over_the_window() -> None:
    now = [100.0]
    router = RegionRouter(["eu-west", "us-east"], window=10, clock=lambda: now[0])
    for _ in range(3):
        router.count("us-east")
    router.count("eu-west")
    assert router.shares() == {"eu-west": 0.25, "us-east": 0.75}
    now[0] += 20
    assert router.shares() == {"eu-west": 0.0, "us-east": 0.0}
