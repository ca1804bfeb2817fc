"""What the reports derive from a history: fault windows, phase spans, per-second load.

Shared by the HTML page, the JUnit file and the live view, so all three agree
on when a fault was in effect and what the traffic looked like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chaoskit.checks.compare import p_text as judged_p_text
from chaoskit.model.history import (
    FaultEvent,
    Group,
    History,
    LoadSample,
    Phase,
    PhaseStarted,
    ProbeReading,
)

GROUP_ORDER: tuple[Group, ...] = ("", "experiment", "control")
"""How the reports list groups: all traffic, then the group that had the faults, then the
one that is its measure of normal."""


@dataclass(frozen=True)
class FaultWindow:
    """One fault's life. ``start``/``end`` are when it was in effect, as well as we know."""

    fault: str
    kind: str
    label: str
    targets: tuple[str, ...]
    inject_called: float | None
    inject_effective: float | None
    revert_called: float | None
    revert_effective: float | None
    failed: tuple[FaultEvent, ...]

    @property
    def start(self) -> float | None:
        # The effective time is the truth; the call time is the best fallback
        # (a fault whose effect was never confirmed may still have hit).
        return self.inject_effective if self.inject_effective is not None else self.inject_called

    @property
    def end(self) -> float | None:
        return self.revert_effective if self.revert_effective is not None else self.revert_called

    @property
    def inject_actuation(self) -> float | None:
        return _gap(self.inject_called, self.inject_effective)

    @property
    def revert_actuation(self) -> float | None:
        return _gap(self.revert_called, self.revert_effective)


def fault_windows(history: History) -> list[FaultWindow]:
    """Every fault that took at least one step, in the order it first appeared."""
    steps: dict[str, list[FaultEvent]] = {}
    for event in history.of_type(FaultEvent):
        steps.setdefault(event.fault, []).append(event)
    windows = []
    for fault, events in steps.items():
        first: dict[str, float] = {}
        for event in events:
            first.setdefault(event.step, event.t)
        targets = next((e.targets for e in reversed(events) if e.targets), ())
        windows.append(FaultWindow(
            fault=fault, kind=events[0].kind, label=events[0].label, targets=targets,
            inject_called=first.get("inject_called"),
            inject_effective=first.get("inject_effective"),
            revert_called=first.get("revert_called"),
            revert_effective=first.get("revert_effective"),
            failed=tuple(e for e in events if e.step.failed),
        ))
    return windows


@dataclass(frozen=True)
class PhaseSpan:
    phase: Phase
    start: float
    end: float


def phase_spans(history: History, end: float) -> list[PhaseSpan]:
    """Each phase from its start to the next phase's start (the last one to ``end``)."""
    starts = history.of_type(PhaseStarted)
    ends = [e.t for e in starts[1:]] + [end]
    return [PhaseSpan(e.phase, e.t, max(stop, e.t)) for e, stop in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class SecondPoint:
    """The traffic of one second: requests per second, success ratio, p99."""

    second: int
    rps: float
    success: float | None
    p99_ms: float | None
    users: int


def load_groups(history: History) -> tuple[Group, ...]:
    """The groups the load samples carry, in :data:`GROUP_ORDER`: ``("",)`` for an
    ungrouped run, ``("experiment", "control")`` for two deployments, all three when one
    deployment carries both cohorts (its samples of all traffic are group "")."""
    present = {s.group for s in history.of_type(LoadSample)}
    return tuple(g for g in GROUP_ORDER if g in present)


def is_grouped(history: History) -> bool:
    """Whether the run's load was measured per group (control and experiment)."""
    return any(g != "" for g in load_groups(history))


def group_label(group: Group) -> str:
    return group or "all traffic"


def per_second(history: History, group: Group | None = None) -> list[SecondPoint]:
    """One point per load sample (of ``group`` when given), in time order."""
    samples = sorted((s for s in history.of_type(LoadSample)
                      if group is None or s.group == group), key=lambda s: s.second)
    return [
        SecondPoint(
            second=s.second, rps=float(s.total.requests),
            success=_ratio(s.total.requests - s.total.failures, s.total.requests),
            p99_ms=s.total.p99_ms, users=s.users,
        )
        for s in samples
    ]


@dataclass(frozen=True)
class WindowStats:
    seconds: int
    rps: float
    success: float | None
    p99_ms: float | None


def window_stats(samples: Sequence[LoadSample]) -> WindowStats:
    """Traffic over several samples: the p99 is exact when the samples carry histograms."""
    requests = sum(s.total.requests for s in samples)
    failures = sum(s.total.failures for s in samples)
    merged: dict[int, int] = {}
    for sample in samples:
        for ms, count in sample.total.response_times.items():
            merged[ms] = merged.get(ms, 0) + count
    p99 = _percentile(merged, 0.99)
    if p99 is None:
        # No histogram: the worst second's p99 is an honest upper bound.
        p99s = [s.total.p99_ms for s in samples if s.total.p99_ms is not None]
        p99 = max(p99s) if p99s else None
    return WindowStats(seconds=len(samples), rps=requests / max(1, len(samples)),
                       success=_ratio(requests - failures, requests), p99_ms=p99)


def _percentile(histogram: dict[int, int], q: float) -> float | None:
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= rank:
            return float(ms)
    return float(max(histogram))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def _gap(start: float | None, end: float | None) -> float | None:
    return end - start if start is not None and end is not None else None


def p_text(p_value: float | None) -> str:
    """A test's p-value as people quote it: "p < 0.001", "p = 0.032"."""
    return "no p" if p_value is None else judged_p_text(p_value)


def reading_detail(reading: ProbeReading) -> str:
    """A reading's detail without the comparison's own sentence ("experiment … vs control
    …"), which the reports already say from the reading's fields."""
    if reading.compare is None:
        return reading.detail
    return "; ".join(part for part in reading.detail.split("; ")
                     if not (part.startswith("experiment ") and " vs control " in part))


def compared_text(reading: ProbeReading, fmt: Callable[[float | None], str]) -> str:
    """A compared reading as the reports say it: "experiment 0.901 vs control 0.999,
    p < 0.001" (values in ``fmt``); the bare value for a reading that compared nothing."""
    if reading.compare is None:
        return fmt(reading.value)
    return (f"experiment {fmt(reading.value)} vs control {fmt(reading.control)}, "
            f"{p_text(reading.p_value)}")
