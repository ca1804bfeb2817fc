"""The pure part of Chaos Kong by evacuation: reading the edge's metrics, judging the shift."""

from __future__ import annotations

from chaoskit.faults.evacuation import EdgeReading, ShiftTracker, region_samples

EDGE_METRICS = """\
# TYPE edge_routed_total counter
edge_routed_total{instance="edge-global-0",region="eu-west",service="edge",zone="global"} 120
edge_routed_total{instance="edge-global-0",region="us-east",service="edge",zone="global"} 80
edge_evacuated_fraction{instance="edge-global-0",region="us-east",service="edge",zone="global"} 0.5
edge_evacuated_fraction{instance="edge-global-0",region="eu-west",service="edge",zone="global"} 0
http_requests_total{code="200",region="global",route="/play/{title}",service="edge"} 200
process_uptime_seconds{region="global",service="edge"} 12.5
"""


def reading(t: float, east: float, west: float, evacuated: float) -> EdgeReading:
    return EdgeReading(t, {"us-east": east, "eu-west": west},
                       {"us-east": evacuated, "eu-west": 0.0})


def test_region_samples_reads_one_metric_per_region() -> None:
    assert region_samples(EDGE_METRICS, "edge_routed_total") == {"eu-west": 120.0,
                                                                 "us-east": 80.0}
    assert region_samples(EDGE_METRICS, "edge_evacuated_fraction") == {"us-east": 0.5,
                                                                       "eu-west": 0.0}
    assert region_samples(EDGE_METRICS, "edge_traffic_share") == {}


def test_region_samples_sums_a_region_over_label_sets_and_skips_unlabelled() -> None:
    text = ('edge_failovers_total{from_region="us-east",region="us-east",to="a"} 2\n'
            'edge_failovers_total{region="us-east",to="b"} 3\n'
            "edge_failovers_total 9\n")
    assert region_samples(text, "edge_failovers_total") == {"us-east": 5.0}


def test_parse_builds_a_reading() -> None:
    parsed = EdgeReading.parse(3.0, EDGE_METRICS)
    assert parsed.t == 3.0
    assert parsed.routed["us-east"] == 80.0
    assert parsed.evacuated["us-east"] == 0.5


def test_evacuation_completes_when_planned_fully_and_the_region_is_quiet() -> None:
    tracker = ShiftTracker("us-east", target=1.0, quiet=1.0)
    tracker.add(reading(0.0, 100, 100, 1.0))
    assert not tracker.complete()  # one reading shows no rate
    tracker.add(reading(0.5, 100, 150, 1.0))
    assert not tracker.complete()  # quiet for less than the window
    tracker.add(reading(1.0, 100, 200, 1.0))
    assert tracker.share() == 0.0
    assert tracker.complete()


def test_evacuation_is_not_complete_while_the_region_still_takes_requests() -> None:
    tracker = ShiftTracker("us-east", target=1.0, quiet=1.0)
    for i, t in enumerate((0.0, 0.5, 1.0, 1.5)):
        tracker.add(reading(t, 100 + i, 100 + 50 * i, 1.0))
    assert tracker.share() is not None and 0 < tracker.share() < 0.05  # type: ignore[operator]
    assert not tracker.complete()


def test_evacuation_is_not_complete_before_the_plan_reaches_the_target() -> None:
    tracker = ShiftTracker("us-east", target=1.0, quiet=1.0)
    tracker.add(reading(0.0, 100, 100, 0.75))
    tracker.add(reading(1.0, 100, 200, 0.75))
    assert tracker.share() == 0.0
    assert not tracker.complete()


def test_no_traffic_at_all_proves_nothing() -> None:
    tracker = ShiftTracker("us-east", target=1.0, quiet=1.0)
    tracker.add(reading(0.0, 100, 100, 1.0))
    tracker.add(reading(2.0, 100, 100, 1.0))
    assert tracker.share() is None
    assert not tracker.complete()


def test_failback_completes_when_the_region_takes_requests_again() -> None:
    tracker = ShiftTracker("us-east", target=0.0, quiet=1.0)
    tracker.add(reading(0.0, 100, 100, 0.0))
    tracker.add(reading(1.0, 100, 200, 0.0))
    assert not tracker.complete()  # planned back, but nobody came yet
    tracker.add(reading(1.5, 110, 230, 0.0))
    assert tracker.complete()


def test_old_readings_are_dropped_so_the_share_is_recent() -> None:
    tracker = ShiftTracker("us-east", target=1.0, quiet=1.0)
    tracker.add(reading(0.0, 0, 0, 0.25))
    tracker.add(reading(1.0, 100, 100, 1.0))  # the region still took traffic until here
    for t in (1.5, 2.0, 2.5):
        tracker.add(reading(t, 100, 100 + 100 * t, 1.0))
    assert tracker.readings[0].t >= 1.0
    assert tracker.share() == 0.0
    assert tracker.complete()
