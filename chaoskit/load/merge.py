"""Merging the one-second samples of several Locust workers into one stream. Pure: no I/O.

With ``load.workers`` every worker runs chaoskit's glue and streams its own
seconds, bucketed by *completion* second on the machine's one wall clock, so
the same second from every worker covers the same instant and adding them is
exact: counts add, histograms add, and the percentiles are computed again from
the merged histogram (Locust's rounding makes the histograms small, so this is
cheap) — never averaged.

When is a second (of one group) complete? When every live worker has either
sent it, or sent a later second (the glue emits in order: a worker that moved
on had nothing more for it, e.g. no traffic of that cohort), or started after
it. A worker that has not sent anything yet holds the stream back, so the
first merged second is one all workers took part in. A worker that is late
(starved of CPU, stopped) holds a second at most ``late_after`` seconds past
its end; the second is then emitted without it, and what it sends for that
second afterwards is counted in ``late`` and dropped: an emitted second is
final, as with one Locust process.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from chaoskit.load.buckets import percentile
from chaoskit.model.history import LoadSample, RequestStats

LATE_AFTER = 2.0
"""Seconds past a second's end after which it is emitted without a worker that is late."""


def merge_stats(parts: Iterable[RequestStats]) -> RequestStats:
    """The traffic of several workers in one second, as if one Locust had seen it all."""
    requests = failures = good = 0
    histogram: dict[int, int] = {}
    for part in parts:
        requests += part.requests
        failures += part.failures
        good += part.good
        for value, count in part.response_times.items():
            histogram[value] = histogram.get(value, 0) + count
    return RequestStats(
        requests=requests, failures=failures, good=good,
        p50_ms=percentile(histogram, 0.5), p95_ms=percentile(histogram, 0.95),
        p99_ms=percentile(histogram, 0.99), response_times=dict(sorted(histogram.items())),
    )


def merge_samples(parts: Sequence[LoadSample], t: float) -> LoadSample:
    """One sample of ``parts`` (the same second and group, one per worker), made at ``t``."""
    first = parts[0]
    names = sorted({name for part in parts for name in part.by_name})
    return first.model_copy(update={
        "t": t,
        "users": sum(part.users for part in parts),
        "total": merge_stats(part.total for part in parts),
        "by_name": {name: merge_stats(part.by_name[name] for part in parts
                                      if name in part.by_name) for name in names},
    })


_Key = tuple[int, str]
"""(second, group): the unit that is merged and emitted once."""


@dataclass
class _Worker:
    first: int | None = None
    """The first second it sent; None until it sent one."""
    latest: int | None = None
    live: bool = True


@dataclass
class _Pending:
    parts: dict[Hashable, LoadSample] = field(default_factory=dict)


class SampleMerger:
    """Collects the workers' samples; hands out each second (per group) once it is complete.

    Feed it every worker's samples in the order each worker sent them (``add``),
    tell it when a worker ends (``worker_ended``) and call ``expire`` when
    ``deadline()`` has passed. Each returns the merged samples that became
    ready, oldest first.
    """

    def __init__(self, workers: Iterable[Hashable], late_after: float = LATE_AFTER) -> None:
        self.late_after = late_after
        self.late = 0
        """Samples that arrived after their second had been emitted without them."""
        self._workers = {worker: _Worker() for worker in workers}
        self._pending: dict[_Key, _Pending] = {}
        self._emitted: dict[str, int] = {}
        """Per group, the last second emitted: later parts of it are late."""

    def add(self, worker: Hashable, sample: LoadSample, now: float) -> list[LoadSample]:
        state = self._workers[worker]
        if state.first is None:
            state.first = sample.second
        state.latest = sample.second if state.latest is None else max(state.latest,
                                                                        sample.second)
        key = (sample.second, sample.group)
        if sample.second <= self._emitted.get(sample.group, sample.second - 1):
            self.late += 1
        else:
            self._pending.setdefault(key, _Pending()).parts[worker] = sample
        return self._ready(now, expired=False)

    def worker_ended(self, worker: Hashable, now: float) -> list[LoadSample]:
        """The worker will send nothing more: no second waits for it from now on."""
        self._workers[worker].live = False
        return self._ready(now, expired=False)

    def expire(self, now: float) -> list[LoadSample]:
        """The seconds whose wait for late workers is over, complete or not."""
        return self._ready(now, expired=True)

    def flush(self, now: float) -> list[LoadSample]:
        """Everything still pending (the load has stopped: nothing more will come)."""
        return self._ready(now, expired=True, everything=True)

    def deadline(self) -> float | None:
        """When the oldest pending second is emitted even if a worker is still missing."""
        if not self._pending:
            return None
        return min(second for second, _ in self._pending) + 1 + self.late_after

    def _complete(self, key: _Key) -> bool:
        second, _ = key
        pending = self._pending[key]
        for worker, state in self._workers.items():
            if worker in pending.parts or not state.live:
                continue
            if state.first is None:
                return False  # not started yet: it may still send this second
            if state.first > second:
                continue  # it started after this second: it had no part in it
            if state.latest is None or state.latest <= second:
                return False
        return True

    def _ready(self, now: float, *, expired: bool, everything: bool = False) -> list[LoadSample]:
        out: list[LoadSample] = []
        for key in sorted(self._pending):
            second, group = key
            due = everything or (expired and now >= second + 1 + self.late_after)
            if not (due or self._complete(key)):
                continue
            pending = self._pending.pop(key)
            parts = [pending.parts[w] for w in self._workers if w in pending.parts]
            out.append(merge_samples(parts, now))
            self._emitted[group] = max(second, self._emitted.get(group, second))
        return out
