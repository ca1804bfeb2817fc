"""Window statistics over one-second load samples: the numbers probes judge."""

from __future__ import annotations

import pytest

from chaoskit.load.buckets import percentile
from chaoskit.load.window import summarize
from chaoskit.model.history import LoadSample, RequestStats


def stats(histogram: dict[int, int], failures: int = 0, good: int | None = None) -> RequestStats:
    requests = sum(histogram.values())
    return RequestStats(
        requests=requests, failures=failures,
        good=requests - failures if good is None else good, response_times=histogram,
    )


def sample(second: int, total: RequestStats, **by_name: RequestStats) -> LoadSample:
    return LoadSample(second=second, users=5, total=total, by_name=by_name)


def test_percentiles_come_from_the_merged_histogram_not_an_average_of_seconds() -> None:
    # Second 1: 999 fast requests; second 2: one slow one. The per-second p99s
    # are 10 and 900 (mean 455); over the 1000 requests the p99 is 10 ms.
    fast = stats({10: 999})
    slow = stats({900: 1})
    window = summarize([sample(1, fast), sample(2, slow)])
    assert window.requests == 1000
    assert window.p50_ms == 10.0
    assert window.p99_ms == 10.0
    # Two slow among 100: now they are the top 2%, and the p99 sees them.
    assert summarize([sample(1, stats({10: 98})), sample(2, stats({900: 2}))]).p99_ms == 900.0


def test_percentile_matches_locusts_definition() -> None:
    # Locust: the largest v with at most int(n*q) requests faster than v.
    hist = {v: 1 for v in range(1, 101)}  # 1..100 ms once each
    assert percentile(hist, 0.5) == 51.0
    assert percentile(hist, 0.95) == 96.0
    assert percentile(hist, 0.99) == 100.0
    assert percentile({5: 3, 7: 1}, 0.5) == 5.0
    assert percentile({5: 3, 7: 1}, 0.95) == 7.0
    assert percentile({}, 0.5) is None


def test_ratios_rps_and_goodput() -> None:
    a = stats({10: 8, 2000: 2}, failures=2, good=7)  # 10 requests, 2 failed, 7 within SLO
    b = stats({10: 10}, failures=0, good=10)
    window = summarize([sample(100, a), sample(101, b)])
    assert (window.seconds, window.requests, window.failures, window.good) == (2, 20, 2, 17)
    assert window.success_ratio == pytest.approx(0.9)
    assert window.failure_ratio == pytest.approx(0.1)
    assert window.rps == pytest.approx(10.0)
    assert window.goodput == pytest.approx(8.5)


def test_a_window_without_requests_has_no_ratios_but_zero_throughput() -> None:
    quiet = summarize([sample(1, RequestStats()), sample(2, RequestStats())])
    assert quiet.seconds == 2 and quiet.requests == 0
    assert quiet.success_ratio is None and quiet.failure_ratio is None
    assert quiet.p50_ms is None and quiet.p95_ms is None and quiet.p99_ms is None
    # A paused target serves nothing: that is a reading of 0, not a missing one.
    assert quiet.rps == 0.0 and quiet.goodput == 0.0


def test_no_samples_at_all_is_all_none() -> None:
    empty = summarize([])
    assert empty.seconds == 0 and empty.requests == 0
    assert empty.rps is None and empty.goodput is None and empty.success_ratio is None


def test_filtering_by_request_name() -> None:
    play = stats({20: 4}, failures=1)
    browse = stats({5: 6})
    both = stats({20: 4, 5: 6}, failures=1)
    samples = [
        sample(1, both, play=play, browse=browse),
        sample(2, stats({5: 2}), browse=stats({5: 2})),
    ]
    only_play = summarize(samples, request="play")
    assert (only_play.requests, only_play.failures) == (4, 1)
    assert only_play.failure_ratio == pytest.approx(0.25)
    # A second in which the name made no request still counts as a second.
    assert only_play.seconds == 2 and only_play.rps == pytest.approx(2.0)
    assert only_play.p50_ms == 20.0
    assert summarize(samples, request="browse").requests == 8
    absent = summarize(samples, request="nope")
    assert absent.requests == 0 and absent.failure_ratio is None and absent.rps == 0.0


def test_a_second_given_twice_counts_once() -> None:
    one = sample(7, stats({10: 5}))
    window = summarize([one, one])
    assert window.seconds == 1 and window.requests == 5 and window.rps == 5.0
