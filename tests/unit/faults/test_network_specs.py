"""Network fault specs: validation, per-kind defaults, and each kind's toxic."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from chaoskit.faults import build
from chaoskit.faults.links import ToxicFault, streams
from chaoskit.loader.references import unknown_references
from chaoskit.model.faults import FaultSpec, LinkFault
from tests.unit.faults.network_support import experiment

SPEC: TypeAdapter[Any] = TypeAdapter(FaultSpec)


def spec(**fields: Any) -> LinkFault:
    value = SPEC.validate_python(fields)
    assert isinstance(value, LinkFault)
    return value


@pytest.mark.parametrize(("fields", "toxic", "attributes", "direction"), [
    ({"fault": "latency", "latency": 2000}, "latency", {"latency": 2000, "jitter": 0},
     "downstream"),
    ({"fault": "latency", "latency": 100, "jitter": 20}, "latency",
     {"latency": 100, "jitter": 20}, "downstream"),
    ({"fault": "partition"}, "timeout", {"timeout": 0}, "both"),
    ({"fault": "bandwidth", "rate": 50}, "bandwidth", {"rate": 50}, "downstream"),
    ({"fault": "reset_peer", "timeout": 100}, "reset_peer", {"timeout": 100}, "upstream"),
    ({"fault": "timeout", "timeout": 300}, "timeout", {"timeout": 300}, "both"),
    ({"fault": "slicer"}, "slicer", {"average_size": 64, "size_variation": 32, "delay": 10},
     "downstream"),
    ({"fault": "limit_data", "bytes": 1000}, "limit_data", {"bytes": 1000}, "downstream"),
])
def test_each_kind_is_one_toxic_with_a_sensible_default_direction(
    fields: dict[str, Any], toxic: str, attributes: dict[str, int], direction: str,
) -> None:
    value = spec(**fields)
    fault = build(value)
    assert isinstance(fault, ToxicFault)
    assert fault.toxic == toxic
    assert fault.attributes() == attributes
    assert value.direction == direction
    assert value.toxicity == 1.0


def test_describe_names_the_effect_the_links_and_the_direction() -> None:
    fault = build(spec(fault="latency", service="playback", zone="us-east-1a", latency=2000,
                       jitter=100, caller="gateway", toxicity=0.5))
    assert fault.describe() == ("latency +2000ms ±100ms to service=playback,zone=us-east-1a "
                                "from gateway (downstream, toxicity 0.5)")
    assert build(spec(fault="partition", mode="refuse")).describe() == (
        "partition refused to all instances (both)")


@pytest.mark.parametrize("fields", [
    {"fault": "latency"},                                   # latency is required
    {"fault": "latency", "latency": -1},
    {"fault": "latency", "latency": 10, "jitter": -5},
    {"fault": "latency", "latency": 10, "toxicity": 1.5},
    {"fault": "latency", "latency": 10, "toxicity": -0.1},
    {"fault": "latency", "latency": 10, "direction": "sideways"},
    {"fault": "latency", "latency": 10, "colour": "red"},   # a typo is an error
    {"fault": "bandwidth", "rate": 0},                      # 0 KB/s would hang every link
    {"fault": "slicer", "average_size": 10, "size_variation": 10},
    {"fault": "slicer", "average_size": 0},
    {"fault": "partition", "mode": "refuse", "direction": "upstream"},
    {"fault": "partition", "mode": "refuse", "toxicity": 0.5},
    {"fault": "partition", "mode": "drop"},
    {"fault": "limit_data"},
    {"fault": "timeout", "timeout": -1},
])
def test_invalid_specs_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SPEC.validate_python(fields)


def test_partition_directions_map_to_streams() -> None:
    assert streams("both") == ("upstream", "downstream")
    assert streams("upstream") == ("upstream",)
    partition = spec(fault="partition", direction="downstream")
    assert partition.direction == "downstream"  # answers lost: the work was done upstream


def test_upstream_side_names_are_checked_against_the_topology() -> None:
    bad = experiment([{"fault": "latency", "latency": 10, "service": "playbak",
                       "zone": "us-east-9z"}])
    problems = {(loc[-1], value) for loc, value, _ in unknown_references(bad)}
    assert problems == {("service", "playbak"), ("zone", "us-east-9z")}
    good = experiment([{"fault": "partition", "service": "playback", "zone": "us-east-1a",
                        "caller": "gateway"}])
    assert unknown_references(good) == []
