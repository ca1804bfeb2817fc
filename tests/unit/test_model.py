"""The pure model: tolerances, durations, topology planning, locality, selectors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from chaoskit.model import (
    Instance,
    Selector,
    SteadyStateProbe,
    Tolerance,
    Topology,
    parse_seconds,
    plan_instances,
)
from chaoskit.model.duration import format_seconds
from chaoskit.model.experiment import Guardrail, Settings
from chaoskit.model.probes import LoadProbe
from chaoskit.model.topology import Dependency, reachable

# --- tolerance ---------------------------------------------------------------------------


@pytest.mark.parametrize(("bounds", "value", "holds"), [
    ({"min": 0.99}, 0.99, True),
    ({"min": 0.99}, 1.0, True),
    ({"min": 0.99}, 0.98, False),
    ({"max": 500}, 500, True),
    ({"max": 500}, 500.1, False),
    ({"min": 1, "max": 3}, 2, True),
    ({"min": 1, "max": 3}, 0.5, False),
    ({"min": 1, "max": 3}, 3.5, False),
    ({"equals": 0}, 0, True),
    ({"equals": 0}, 1, False),
    ({"min": 0}, None, False),
    ({"equals": 0}, None, False),
])
def test_tolerance_accepts(bounds: dict[str, float], value: float | None, holds: bool) -> None:
    assert Tolerance(**bounds).accepts(value) is holds


@pytest.mark.parametrize(("bounds", "text"), [
    ({"min": 0.99}, ">= 0.99"), ({"max": 500}, "<= 500"),
    ({"min": 1, "max": 3}, ">= 1 and <= 3"), ({"equals": 0}, "== 0"),
])
def test_tolerance_describe(bounds: dict[str, float], text: str) -> None:
    assert Tolerance(**bounds).describe() == text


@pytest.mark.parametrize(("bounds", "message"), [
    ({}, "expected at least one of min, max or equals"),
    ({"min": 2, "max": 1}, "min (2.0) is greater than max (1.0)"),
    ({"equals": 1, "min": 0}, "use either equals or min/max, not both"),
])
def test_tolerance_rejects(bounds: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Tolerance(**bounds)


# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("500ms", 0.5), ("10s", 10.0), ("2m", 120.0), ("1h", 3600.0), ("1.5s", 1.5), ("7", 7.0),
    (" 10 s ", 10.0), (3, 3.0), (2.5, 2.5), (0, 0.0),
])
def test_parse_seconds(text: object, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("bad", ["10 parsecs", "ten seconds", "-1s", "", True, None, [10]])
def test_parse_seconds_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_seconds(bad)


def test_negative_number_of_seconds_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_seconds(-1)


def test_durations_serialise_as_users_write_them() -> None:
    assert format_seconds(0.25) == "250ms"
    assert format_seconds(10) == "10s"
    assert format_seconds(0) == "0s"
    settings = Settings(warmup="500ms", recover_within="1m")
    assert settings.warmup == 0.5
    assert settings.model_dump()["recover_within"] == "60s"
    assert Settings.model_validate(settings.model_dump()) == settings


# --- steady state: the flat form -----------------------------------------------------------


def test_flat_steady_state_entry_is_nested_under_probe() -> None:
    flat = {"name": "p99", "probe": "load.p99_ms", "window": "3s", "tolerance": {"max": 500}}
    entry = SteadyStateProbe.model_validate(flat)
    assert entry.probe == LoadProbe(probe="load.p99_ms", window=3)
    assert entry.tolerance.max == 500


def test_guardrail_is_named_after_its_probe_by_default() -> None:
    guardrail = Guardrail.model_validate({"probe": "load.success_ratio",
                                          "tolerance": {"min": 0.8}})
    assert guardrail.name == "guardrail load.success_ratio"


# --- topology planning --------------------------------------------------------------------


def topology(**changes: Any) -> Topology:
    data: dict[str, Any] = {
        "name": "t",
        "regions": [{"name": "us-east", "zones": ["us-east-1a", "us-east-1b"]},
                    {"name": "eu-west", "zones": ["eu-west-1a"]}],
        "services": [
            {"name": "edge", "command": ["x"], "scope": "global", "depends_on": ["gateway"]},
            {"name": "gateway", "command": ["x"], "depends_on": ["playback"]},
            {"name": "playback", "command": ["x"], "scope": "region", "replicas": 3,
             "regions": ["us-east"]},
        ],
        "entrypoint": "edge",
    }
    data.update(changes)
    return Topology.model_validate(data)


def test_plan_instances_ids_and_order_dependencies_first() -> None:
    ids = [i.id for i in plan_instances(topology())]
    assert ids == [
        "playback-us-east-0", "playback-us-east-1", "playback-us-east-2",
        "gateway-us-east-1a-0", "gateway-us-east-1b-0", "gateway-eu-west-1a-0",
        "edge-global-0",
    ]


def test_regional_replicas_spread_over_the_zones() -> None:
    playback = [i for i in plan_instances(topology()) if i.service == "playback"]
    assert [(i.zone, i.region, i.index) for i in playback] == [
        ("us-east-1a", "us-east", 0), ("us-east-1b", "us-east", 1), ("us-east-1a", "us-east", 2),
    ]


def test_zonal_replicas_and_global_labels() -> None:
    planned = plan_instances(topology(services=[
        {"name": "api", "command": ["x"], "replicas": 2},
        {"name": "edge", "command": ["x"], "scope": "global"},
    ], entrypoint="api"))
    assert [i.id for i in planned] == [
        "api-us-east-1a-0", "api-us-east-1a-1", "api-us-east-1b-0", "api-us-east-1b-1",
        "api-eu-west-1a-0", "api-eu-west-1a-1", "edge-global-0",
    ]
    assert (planned[-1].zone, planned[-1].region) == ("global", "global")
    assert plan_instances(topology()) == plan_instances(topology())  # stable


def test_dependency_cycle_is_an_error() -> None:
    looped = topology(services=[
        {"name": "a", "command": ["x"], "depends_on": ["b"]},
        {"name": "b", "command": ["x"], "depends_on": ["c"]},
        {"name": "c", "command": ["x"], "depends_on": ["a"]},
    ], entrypoint="a")
    with pytest.raises(ValueError, match="dependency cycle: a -> b -> c -> a"):
        plan_instances(looped)


@pytest.mark.parametrize(("changes", "message"), [
    ({"entrypoint": "nope"}, "entrypoint 'nope' is not a service"),
    ({"services": [{"name": "a", "command": ["x"], "depends_on": ["ghost"]}],
      "entrypoint": "a"}, "depends on unknown service 'ghost'"),
    ({"services": [{"name": "a", "command": ["x"]}, {"name": "a", "command": ["y"]}],
      "entrypoint": "a"}, "service names must be unique"),
    ({"regions": [{"name": "r1", "zones": ["z"]}, {"name": "r2", "zones": ["z"]}]},
     "zone names must be unique"),
    ({"services": [{"name": "a", "command": ["x"], "regions": ["mars"]}], "entrypoint": "a"},
     "unknown region 'mars'"),
])
def test_topology_rejects(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        topology(**changes)


def test_depends_on_shorthand() -> None:
    gateway = topology().service("gateway")
    assert gateway.depends_on == (Dependency(service="playback", locality="region"),)


# --- locality ----------------------------------------------------------------------------


def instance(zone: str, region: str, service: str = "s") -> Instance:
    return Instance(id=f"{service}-{zone}-0", service=service, zone=zone, region=region, index=0)


A1, A2, B1 = instance("a1", "a"), instance("a2", "a"), instance("b1", "b")
EDGE = instance("global", "global", "edge")


@pytest.mark.parametrize(("caller", "upstream", "locality", "ok"), [
    (A1, A1, "zone", True), (A1, A2, "zone", False), (A1, B1, "zone", False),
    (A1, A2, "region", True), (A1, B1, "region", False),
    (A1, B1, "global", True),
    # A global caller (the edge) belongs to no zone and may call anywhere.
    (EDGE, B1, "zone", True), (EDGE, A2, "region", True),
])
def test_reachable(caller: Instance, upstream: Instance, locality: Any, ok: bool) -> None:
    assert reachable(caller, upstream, Dependency(service="s", locality=locality)) is ok


# --- selectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("selector", "ok"), [
    (Selector(), True),
    (Selector(service="playback"), True),
    (Selector(service="gateway"), False),
    (Selector(zone="us-east-1a"), True),
    (Selector(zone="us-east-1b"), False),
    (Selector(region="us-east", service="playback"), True),
    (Selector(region="eu-west"), False),
    (Selector(instance="playback-us-east-1a-0"), True),
    (Selector(instance="playback-us-east-1a-1", service="playback"), False),
])
def test_selector_matches(selector: Selector, ok: bool) -> None:
    playback = Instance(id="playback-us-east-1a-0", service="playback", zone="us-east-1a",
                        region="us-east", index=0)
    assert selector.matches(playback) is ok


def test_selector_describe() -> None:
    assert Selector().describe() == "all instances"
    assert Selector(service="playback", zone="us-east-1a").describe() == \
        "service=playback,zone=us-east-1a"
