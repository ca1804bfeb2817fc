"""Load probes: statistics of the Locust traffic over a window of one-second samples."""

from __future__ import annotations

import asyncio
import time

from chaoskit.checks.compare import compare_groups
from chaoskit.context import RunContext
from chaoskit.load.window import WindowStats, summarize
from chaoskit.model.history import Group, History, LoadSample
from chaoskit.model.probes import Breach, Compare, LoadProbe
from chaoskit.probes.base import Reading

STREAM_SLACK = 15.0
"""Seconds the load stream may fall behind the clock before a window counts as stale.

Locust sends every second, requests or none, so a stream that falls behind is the tools
starved of CPU, not the system failing: in CI (2026-12-01) restarting a zone beside a
second run held chaoskit's loop, which read both Locusts' samples 8 s late (Locust had
sent them on time), and a guardrail that called those seconds "no data" aborted a
healthy run. Past this slack the stream is stalled, which the guardrail watch and
``SampleClock.cover`` report as a load error.
"""


class LoadStatistic:
    """Reads ``load.success_ratio``, ``load.p99_ms`` ... from the history's load samples.

    The window is the last ``window`` seconds of samples received (never older
    than ``since``): the probe reads the history, so what it judged is exactly
    what the journal shows. It reads the experiment's main group (the experiment
    group's samples with two deployments, all traffic otherwise); with ``compare``
    it reads the experiment and control groups over the same seconds and tests
    one against the other.
    """

    def __init__(self, spec: LoadProbe, compare: Compare | None = None) -> None:
        self.spec = spec
        self.compare = compare

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        seconds = window if window is not None else self.spec.window
        group: Group = "experiment" if self.compare is not None else ctx.experiment.main_group
        samples = recent_samples(ctx.history, seconds, since, group=group)
        if not samples:
            return Reading(None, f"no {group + ' ' if group else ''}load samples in the window")
        if self.compare is not None:
            return await self._compared(ctx.history, samples, self.compare)
        if self.spec.breach is not None:
            seconds_out, why = breach_seconds(samples, self.spec.breach, self.spec.probe,
                                              self.spec.request)
            return Reading(seconds_out, why, window_start=float(samples[0].second))
        stats = summarize(samples, request=self.spec.request)
        value = _metric(stats, self.spec.probe)
        detail = f"{stats.requests} requests, {stats.failures} failed, over {len(samples)}s"
        return Reading(value, detail, window_start=float(samples[0].second))

    async def _compared(self, history: History, samples: list[LoadSample],
                        compare: Compare) -> Reading:
        """The experiment's window against the control's samples of the same seconds."""
        first, last = samples[0].second, samples[-1].second
        control = [s for s in _group(history, "control") if first <= s.second <= last]
        metric, request = self.spec.probe, self.spec.request
        # The test takes tens of ms: off the loop, which reads the load streams meanwhile.
        comparison = await asyncio.to_thread(
            compare_groups, compare, per_second(samples, metric, request),
            per_second(control, metric, request),
            value=_metric(summarize(samples, request=request), metric),
            control=_metric(summarize(control, request=request), metric) if control else None)
        unit = " ms" if metric.endswith("_ms") else ""
        return Reading(comparison.value, comparison.detail(unit), window_start=float(first),
                       comparison=comparison)


def per_second(samples: list[LoadSample], metric: str, request: str | None) -> list[float]:
    """Each second's own value; a second with nothing to measure (no request) is left out."""
    values = (_metric(summarize([s], request=request), metric) for s in samples)
    return [v for v in values if v is not None]


def breach_seconds(samples: list[LoadSample], breach: Breach, metric: str,
                   request: str | None) -> tuple[float, str]:
    """Seconds (longest run, or total) whose own value breaks ``breach``, and a detail.

    Every second from the first sample to the last is judged; a second missing
    from the stream, or with no request to judge, breaks the bound.
    """
    by_second = {s.second: s for s in samples}
    first, last = min(by_second), max(by_second)
    longest = run = total = 0
    worst_start = first
    for second in range(first, last + 1):
        sample = by_second.get(second)
        value = None if sample is None else _metric(summarize([sample], request=request),
                                                     metric)
        if breach.breaks(value):
            run += 1
            total += 1
            if run > longest:
                longest, worst_start = run, second - run + 1
        else:
            run = 0
    seconds = last - first + 1
    if breach.measure == "total":
        return float(total), f"{total} of {seconds} s {breach.describe().removeprefix('seconds ')}"
    where = f" from +{worst_start - first} s" if longest else ""
    return float(longest), (f"longest run {longest} s{where} ({breach.describe()}; "
                            f"{total} of {seconds} s in all)")


def recent_samples(history: History, window: float, since: float | None,
                   group: Group = "") -> list[LoadSample]:
    """The last ``window`` seconds of ``group``'s load samples, none older than ``since``,
    none stale.

    A stream that lags is read as far as it has come; a stalled one must not look
    healthy: samples older than the window and :data:`STREAM_SLACK` are not "recent"
    however few newer ones there are.
    """
    seconds = max(1, round(window))
    floor = int(since) if since is not None else 0
    stale = time.time() - seconds - STREAM_SLACK
    # Samples for the same second may arrive only once; order by second to be safe.
    recent = sorted((s for s in _group(history, group)
                     if s.second >= floor and s.second >= stale), key=lambda s: s.second)
    return recent[-seconds:]


def _group(history: History, group: Group) -> list[LoadSample]:
    return [s for s in history.of_type(LoadSample) if s.group == group]


def _metric(stats: WindowStats, name: str) -> float | None:
    return {
        "load.success_ratio": stats.success_ratio,
        "load.failure_ratio": stats.failure_ratio,
        "load.p50_ms": stats.p50_ms,
        "load.p95_ms": stats.p95_ms,
        "load.p99_ms": stats.p99_ms,
        "load.rps": stats.rps,
        "load.goodput": stats.goodput,
        "load.requests": float(stats.requests),
        "load.failures": float(stats.failures),
    }[name]
