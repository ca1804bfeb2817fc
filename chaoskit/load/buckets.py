"""One-second buckets of request outcomes, and the line format that carries them.

Pure logic with no Locust import, so it is unit-tested in chaoskit's own
process; ``chaoskit.load.stream`` is the thin Locust glue that feeds it.

Bucketing rules (the contract the runner and probes rely on):

- A request belongs to the second in which it *completed* (wall clock when
  Locust reported it), not the one it started in. That is what a user sees
  (an answer arrives, or fails, at that moment), and it lets a second be
  final as soon as it is over: a request that started earlier but is still
  hanging cannot change an already emitted second. Under a latency or pause
  fault the slow requests therefore show up when they finish or time out.
- Every second from the start on is emitted, also seconds with no request at
  all: a hung target must read as zero throughput, not as a silent stream.
- The first second is partial (the load starts mid-second); the warm-up
  absorbs it. The last, unfinished second at shutdown is never emitted.
- Response times are rounded as Locust rounds them (exact under 100 ms, to
  10 ms under 1 s, to 100 ms under 10 s, to 1 s above), so the histograms
  stay small (≈ 300 keys) and percentiles agree with Locust's own report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from chaoskit.model.history import LoadSample, RequestStats

PREFIX = "CHAOSKIT_SAMPLE "
"""Every sample is one stdout line: this prefix, then the LoadSample as JSON."""

READY = "CHAOSKIT_READY"
"""Printed once when Locust has loaded the locustfile and started its users."""

SLO_ENV = "CHAOSKIT_LOAD_SLO_MS"


def round_response_time(ms: float) -> int:
    """Locust's ``bucket_response_time`` (locust 2.47 ``stats.py``), without importing Locust."""
    if ms < 100:
        return round(ms)
    if ms < 1000:
        return int(round(ms, -1))
    if ms < 10000:
        return int(round(ms, -2))
    return int(round(ms, -3))


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The ``q`` percentile (0..1) of a rounded histogram, as Locust computes it; None if empty.

    Locust's definition (``calculate_response_time_percentile``): the largest
    response time ``v`` such that at most ``int(n * q)`` requests were faster
    than ``v``. Using the same definition keeps our numbers equal to Locust's
    final report for the same requests.
    """
    n = sum(histogram.values())
    if n == 0:
        return None
    allowed_below = int(n * q)
    seen = 0
    for value in sorted(histogram, reverse=True):
        seen += histogram[value]
        if n - seen <= allowed_below:
            return float(value)
    return float(min(histogram))  # unreachable: n - n == 0 <= allowed_below


@dataclass
class _Counts:
    requests: int = 0
    failures: int = 0
    good: int = 0
    histogram: dict[int, int] = field(default_factory=dict)

    def add(self, rounded: int | None, failed: bool, good: bool) -> None:
        self.requests += 1
        self.failures += failed
        self.good += good
        if rounded is not None:
            self.histogram[rounded] = self.histogram.get(rounded, 0) + 1

    def stats(self) -> RequestStats:
        h = self.histogram
        return RequestStats(
            requests=self.requests, failures=self.failures, good=self.good,
            p50_ms=percentile(h, 0.5), p95_ms=percentile(h, 0.95), p99_ms=percentile(h, 0.99),
            response_times=dict(sorted(h.items())),
        )


@dataclass
class _Bucket:
    total: _Counts = field(default_factory=_Counts)
    by_name: dict[str, _Counts] = field(default_factory=dict)


class SecondBuckets:
    """Collects request outcomes per completion second; hands out each second once it is over.

    Single-threaded by design: in Locust both the request hook and the emitter
    run as greenlets of one thread, so a second is final exactly when the clock
    has passed its end — no grace period is needed.
    """

    def __init__(self, slo_ms: float) -> None:
        self.slo_ms = slo_ms
        self._buckets: dict[int, _Bucket] = {}
        self._next: int | None = None
        """The first second not yet emitted; None until the load starts."""

    def start(self, now: float) -> None:
        """Seconds are emitted from the one containing ``now`` on (idempotent)."""
        if self._next is None:
            self._next = math.floor(now)

    def record(
        self, name: str, response_ms: float | None, failed: bool, now: float | None = None
    ) -> None:
        """Count one finished request. ``response_ms`` None: Locust had no timing for it."""
        second = math.floor(time.time() if now is None else now)
        self.start(second)
        assert self._next is not None
        # A wall clock stepped backwards must not resurrect an emitted second.
        second = max(second, self._next)
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = _Bucket()
        rounded = None if response_ms is None else round_response_time(response_ms)
        # The SLO is judged on the unrounded time: 1004 ms is not within a 1 s SLO.
        good = not failed and response_ms is not None and response_ms <= self.slo_ms
        bucket.total.add(rounded, failed, good)
        counts = bucket.by_name.get(name)
        if counts is None:
            counts = bucket.by_name[name] = _Counts()
        counts.add(rounded, failed, good)

    def pop_complete(self, now: float, users: int) -> list[LoadSample]:
        """Every second that ended at or before ``now`` and was not emitted yet, in order."""
        if self._next is None:
            return []
        samples = []
        while self._next + 1 <= now:
            bucket = self._buckets.pop(self._next, None) or _Bucket()
            samples.append(LoadSample(
                t=now, second=self._next, users=users, total=bucket.total.stats(),
                by_name={name: c.stats() for name, c in sorted(bucket.by_name.items())},
            ))
            self._next += 1
        return samples


def format_line(sample: LoadSample) -> str:
    """The stdout line for one sample (no newline): prefix + compact JSON."""
    return PREFIX + sample.model_dump_json()


def parse_line(line: str) -> LoadSample | None:
    """The sample a stdout line carries, or None for any other line.

    Raises pydantic's ValidationError for a prefixed line that is not a valid sample.
    """
    if not line.startswith(PREFIX):
        return None
    return LoadSample.model_validate_json(line[len(PREFIX):])
