"""Bucketing and the sample line format, tested without Locust in this process."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from chaoskit.load.buckets import (
    PREFIX,
    SecondBuckets,
    format_line,
    parse_line,
    round_response_time,
)
from chaoskit.model.history import LoadSample

T0 = 1_700_000_000.0


def test_rounding_is_locusts() -> None:
    assert [round_response_time(x) for x in (0.4, 12.6, 99.4)] == [0, 13, 99]
    assert [round_response_time(x) for x in (147, 994, 3432, 58760)] == [150, 990, 3400, 59000]


def test_requests_land_in_their_completion_second_and_complete_seconds_only() -> None:
    buckets = SecondBuckets(slo_ms=100)
    buckets.start(T0 + 0.3)
    buckets.record("/a", 12.0, False, T0 + 0.5)
    buckets.record("/a", 250.0, False, T0 + 0.9)  # success but slower than the SLO
    buckets.record("/b", 3.0, True, T0 + 0.99)
    buckets.record("/a", 5.0, False, T0 + 1.2)
    # Second T0 is not over yet at T0 + 0.999: nothing to emit.
    assert buckets.pop_complete(T0 + 0.999, users=3) == []
    [first] = buckets.pop_complete(T0 + 1.0, users=3)
    assert first.second == int(T0) and first.users == 3 and first.t == T0 + 1.0
    assert (first.total.requests, first.total.failures, first.total.good) == (3, 1, 1)
    assert first.total.response_times == {3: 1, 12: 1, 250: 1}
    assert first.by_name["/a"].requests == 2 and first.by_name["/a"].good == 1
    assert first.by_name["/b"].failures == 1 and first.by_name["/b"].good == 0
    assert first.total.p50_ms == 12.0
    # The second emitted is gone; the next one is emitted once over.
    assert buckets.pop_complete(T0 + 1.5, users=3) == []
    [second] = buckets.pop_complete(T0 + 2.0, users=3)
    assert second.total.requests == 1


def test_seconds_without_requests_are_still_emitted() -> None:
    buckets = SecondBuckets(slo_ms=100)
    buckets.start(T0)
    buckets.record("/a", 1.0, False, T0 + 3.5)
    samples = buckets.pop_complete(T0 + 4.01, users=1)
    assert [s.second - int(T0) for s in samples] == [0, 1, 2, 3]
    assert [s.total.requests for s in samples] == [0, 0, 0, 1]
    assert samples[0].total.p99_ms is None and samples[0].by_name == {}


def test_nothing_is_emitted_before_the_load_starts() -> None:
    assert SecondBuckets(slo_ms=1).pop_complete(T0 + 10, users=0) == []


def test_a_clock_stepping_back_cannot_change_an_emitted_second() -> None:
    buckets = SecondBuckets(slo_ms=100)
    buckets.start(T0)
    assert len(buckets.pop_complete(T0 + 2.0, users=1)) == 2
    buckets.record("/a", 1.0, False, T0 + 0.5)  # the wall clock went back 2 s
    [late] = buckets.pop_complete(T0 + 3.0, users=1)
    assert late.second == int(T0) + 2 and late.total.requests == 1


def test_request_without_timing_counts_but_has_no_latency_and_is_not_good() -> None:
    buckets = SecondBuckets(slo_ms=100)
    buckets.start(T0)
    buckets.record("/a", None, False, T0 + 0.1)
    [s] = buckets.pop_complete(T0 + 1, users=1)
    assert s.total.requests == 1 and s.total.good == 0 and s.total.response_times == {}


def test_slo_is_judged_on_the_unrounded_time() -> None:
    buckets = SecondBuckets(slo_ms=1000)
    buckets.start(T0)
    buckets.record("/a", 1000.0, False, T0 + 0.1)
    buckets.record("/a", 1004.0, False, T0 + 0.2)  # rounds to 1000 ms, still too slow
    [s] = buckets.pop_complete(T0 + 1, users=1)
    assert s.total.good == 1 and s.total.response_times == {1000: 2}


def test_line_round_trips_as_a_load_sample() -> None:
    buckets = SecondBuckets(slo_ms=100)
    buckets.start(T0)
    for ms in (1.0, 2.0, 150.0, 3000.0):
        buckets.record("/play", ms, ms > 1000, T0 + 0.5)
    [s] = buckets.pop_complete(T0 + 1, users=7)
    line = format_line(s)
    assert line.startswith(PREFIX) and "\n" not in line
    parsed = parse_line(line)
    assert parsed == s
    assert isinstance(parsed, LoadSample)
    assert parsed.total.response_times == {1: 1, 2: 1, 150: 1, 3000: 1}  # int keys back from JSON


def test_other_lines_are_not_samples_and_a_broken_sample_is_an_error() -> None:
    assert parse_line("hello from a locustfile print()") is None
    assert parse_line("CHAOSKIT_READY") is None
    with pytest.raises(ValidationError):
        parse_line(PREFIX + '{"second": "soon"}')


def test_driver_side_modules_do_not_import_locust_or_gevent() -> None:
    import chaoskit.load.driver
    import chaoskit.load.window  # noqa: F401

    # Locust monkey-patches on import; in chaoskit's process it would hijack asyncio.
    assert "gevent" not in sys.modules and "locust" not in sys.modules
