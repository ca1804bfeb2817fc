"""Statistics of a window of one-second load samples. Pure: no I/O, no clock.

Percentiles come from the *merged* histograms of the window, never from
averaging per-second percentiles (an average of p99s is not a p99).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chaoskit.load.buckets import percentile
from chaoskit.model.history import LoadSample, RequestStats


@dataclass(frozen=True)
class WindowStats:
    """Traffic over ``seconds`` one-second samples, for all requests or one request name.

    Ratios and percentiles are None when the window holds no request (nothing
    to judge); ``rps`` and ``goodput`` are then 0.0 — no traffic is a real
    reading (a paused target), and None only for a window with no samples.
    """

    seconds: int
    requests: int
    failures: int
    good: int
    success_ratio: float | None
    failure_ratio: float | None
    rps: float | None
    goodput: float | None
    """Successes within the SLO per second."""
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


def summarize(samples: Iterable[LoadSample], request: str | None = None) -> WindowStats:
    """Merge ``samples`` (for request name ``request``, or all requests) into one WindowStats.

    A second that appears twice counts once (the later sample wins), so a
    caller that hands over overlapping lists cannot double the traffic.
    """
    by_second: dict[int, LoadSample] = {}
    for sample in samples:
        by_second[sample.second] = sample
    requests = failures = good = 0
    histogram: dict[int, int] = {}
    for sample in by_second.values():
        stats = _stats_of(sample, request)
        if stats is None:
            continue
        requests += stats.requests
        failures += stats.failures
        good += stats.good
        for value, count in stats.response_times.items():
            histogram[value] = histogram.get(value, 0) + count
    seconds = len(by_second)
    return WindowStats(
        seconds=seconds, requests=requests, failures=failures, good=good,
        success_ratio=(requests - failures) / requests if requests else None,
        failure_ratio=failures / requests if requests else None,
        rps=requests / seconds if seconds else None,
        goodput=good / seconds if seconds else None,
        p50_ms=percentile(histogram, 0.5) if requests else None,
        p95_ms=percentile(histogram, 0.95) if requests else None,
        p99_ms=percentile(histogram, 0.99) if requests else None,
    )


def _stats_of(sample: LoadSample, request: str | None) -> RequestStats | None:
    if request is None:
        return sample.total
    return sample.by_name.get(request)
