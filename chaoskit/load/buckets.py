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

Cohorts (ChAP's FIT mode, ``groups: {control: true, share: 5%}``): when the
runner sets :data:`COHORT_SHARE_ENV`, the glue draws each HTTP request into
the ``control`` cohort with probability ``share``, into ``experiment`` with the
same probability, and leaves the rest untagged (:class:`CohortDraw`). Every
request counts in all traffic (group ``""``); a tagged one counts in its
cohort too. Each second then yields one sample per group, all traffic first,
and a cohort with no request that second still gets its (empty) sample: a
cohort that gets nothing through is a reading, not a gap. Without the variable
nothing changes: one sample per second, and its line has no ``group`` key.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from chaoskit.model.history import Group, LoadSample, RequestStats

PREFIX = "CHAOSKIT_SAMPLE "
"""Every sample is one stdout line: this prefix, then the LoadSample as JSON."""

READY = "CHAOSKIT_READY"
"""Printed once when Locust has loaded the locustfile and started its users."""

SLO_ENV = "CHAOSKIT_LOAD_SLO_MS"

COHORT_SHARE_ENV = "CHAOSKIT_COHORT_SHARE"
"""Each cohort's share of the requests (``0.05`` or ``5%``); unset: no cohorts."""
COHORT_HEADER_ENV = "CHAOSKIT_COHORT_HEADER"
"""The request header that carries the cohort to the system (default :data:`COHORT_HEADER`)."""
COHORT_SEED_ENV = "CHAOSKIT_COHORT_SEED"
"""Seeds the per-request draw, so a run's cohort sequence replays (unset: fresh entropy)."""
COHORT_HEADER = "X-Chaoskit-Cohort"
CONTROL: Group = "control"
EXPERIMENT: Group = "experiment"
COHORTS: tuple[Group, ...] = (CONTROL, EXPERIMENT)
MAX_SHARE = 0.5
"""Two cohorts of equal size cannot hold more than all the traffic."""


@dataclass(frozen=True)
class CohortSettings:
    """What the runner asked of the glue: how big each cohort is, which header, which seed."""

    share: float
    header: str = COHORT_HEADER
    seed: int | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> CohortSettings | None:
        """The settings in ``environ``, None when no share is set (an ungrouped run).

        Raises ValueError for a share that is not a number in (0, 0.5] or a bad seed:
        the runner validated the experiment, so this is a bug, and must not pass silently.
        """
        raw = environ.get(COHORT_SHARE_ENV, "").strip()
        if not raw:
            return None
        share = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        if not 0 < share <= MAX_SHARE:
            raise ValueError(f"{COHORT_SHARE_ENV}={raw!r}: expected a share in (0, {MAX_SHARE}]")
        seed = environ.get(COHORT_SEED_ENV, "").strip()
        return cls(share=share, header=environ.get(COHORT_HEADER_ENV, "").strip() or COHORT_HEADER,
                   seed=int(seed) if seed else None)


    def environ(self) -> dict[str, str]:
        """The variables the runner gives Locust for these settings (``from_environ``'s inverse)."""
        env = {COHORT_SHARE_ENV: repr(self.share), COHORT_HEADER_ENV: self.header}
        if self.seed is not None:
            env[COHORT_SEED_ENV] = str(self.seed)
        return env


class CohortDraw:
    """Draws each request's cohort: ``control`` with probability ``share``, ``experiment``
    with the same probability, else None (the request is only part of all traffic).

    Per request, not per user, as Zuul assigns ChAP's cohorts: a locust user's
    requests spread over both cohorts, so neither cohort is a handful of users.
    One uniform number per request decides, so a seeded draw replays exactly.
    """

    def __init__(self, share: float, rng: random.Random | None = None) -> None:
        if not 0 < share <= MAX_SHARE:
            raise ValueError(f"share must be in (0, {MAX_SHARE}], not {share}")
        self.share = share
        self._rng = rng or random.Random()

    def draw(self) -> Group | None:
        u = self._rng.random()
        if u < self.share:
            return CONTROL
        if u < 2 * self.share:
            return EXPERIMENT
        return None


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

    ``cohorts`` (FIT mode): the groups that, besides all traffic, get a sample
    every second; a request recorded with a cohort outside them counts in all
    traffic only.
    """

    def __init__(self, slo_ms: float, cohorts: tuple[Group, ...] = ()) -> None:
        self.slo_ms = slo_ms
        self.groups: tuple[Group, ...] = ("", *cohorts)
        """Emitted per second in this order: all traffic (``""``) first."""
        self._buckets: dict[tuple[int, str], _Bucket] = {}
        self._next: int | None = None
        """The first second not yet emitted; None until the load starts."""

    def start(self, now: float) -> None:
        """Seconds are emitted from the one containing ``now`` on (idempotent)."""
        if self._next is None:
            self._next = math.floor(now)

    def record(
        self, name: str, response_ms: float | None, failed: bool, now: float | None = None,
        cohort: str | None = None,
    ) -> None:
        """Count one finished request. ``response_ms`` None: Locust had no timing for it.

        ``cohort``: the request's cohort (FIT mode); it counts in all traffic either way.
        """
        second = math.floor(time.time() if now is None else now)
        self.start(second)
        assert self._next is not None
        # A wall clock stepped backwards must not resurrect an emitted second.
        second = max(second, self._next)
        rounded = None if response_ms is None else round_response_time(response_ms)
        # The SLO is judged on the unrounded time: 1004 ms is not within a 1 s SLO.
        good = not failed and response_ms is not None and response_ms <= self.slo_ms
        for group in (g for g in self.groups if g == "" or g == cohort):
            bucket = self._buckets.get((second, group))
            if bucket is None:
                bucket = self._buckets[second, group] = _Bucket()
            bucket.total.add(rounded, failed, good)
            counts = bucket.by_name.get(name)
            if counts is None:
                counts = bucket.by_name[name] = _Counts()
            counts.add(rounded, failed, good)

    def pop_complete(self, now: float, users: int) -> list[LoadSample]:
        """Every second that ended at or before ``now`` and was not emitted yet, in order;
        within a second, one sample per group in :attr:`groups` order."""
        if self._next is None:
            return []
        samples = []
        while self._next + 1 <= now:
            for group in self.groups:
                bucket = self._buckets.pop((self._next, group), None) or _Bucket()
                samples.append(LoadSample(
                    t=now, second=self._next, users=users, total=bucket.total.stats(),
                    by_name={name: c.stats() for name, c in sorted(bucket.by_name.items())},
                    group=group,
                ))
            self._next += 1
        return samples


def format_line(sample: LoadSample) -> str:
    """The stdout line for one sample (no newline): prefix + compact JSON.

    All traffic's sample (group ``""``) is written without the ``group`` key,
    so an ungrouped run's lines are byte for byte what they were before cohorts.
    """
    if sample.group:
        return PREFIX + sample.model_dump_json()
    return PREFIX + sample.model_dump_json(exclude={"group"})


def parse_line(line: str) -> LoadSample | None:
    """The sample a stdout line carries, or None for any other line.

    Raises pydantic's ValidationError for a prefixed line that is not a valid sample.
    """
    if not line.startswith(PREFIX):
        return None
    return LoadSample.model_validate_json(line[len(PREFIX):])
