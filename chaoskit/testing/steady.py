"""Steady-state assertions for tests: keyword bounds → probes, readings → a readable verdict.

Pure: no processes, no clock. ``success_ratio=0.99`` means "at least 99 %",
``p99_ms=500`` means "at most 500 ms" — the direction each statistic is good
in — so a test reads like the hypothesis it checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaoskit.model.experiment import SteadyStateProbe
from chaoskit.model.history import ProbeReading
from chaoskit.model.probes import Compare, LoadProbe
from chaoskit.model.tolerance import Tolerance
from chaoskit.report.tables import describe_probe, tolerance_text, value_text

AT_LEAST = ("success_ratio", "rps", "goodput", "requests")
"""Bigger is better: a bound on these is a minimum."""
AT_MOST = ("failure_ratio", "p50_ms", "p95_ms", "p99_ms", "failures")
"""Smaller is better: a bound on these is a maximum."""


def _refuse_unknown(names: dict[str, float | None], what: str) -> None:
    """A keyword that names no load statistic is a caller's typo: say which ones exist."""
    unknown = sorted(set(names) - set(AT_LEAST) - set(AT_MOST))
    if unknown:
        raise TypeError(f"unknown {what} {', '.join(unknown)}; expected some of "
                        f"{', '.join(AT_LEAST + AT_MOST)}")


def load_probes(bounds: dict[str, float | None], *, window: float,
                request: str | None = None) -> tuple[SteadyStateProbe, ...]:
    """One load probe per bound given (``None`` bounds are skipped), in a stable order."""
    _refuse_unknown(bounds, "steady-state bound")
    probes = []
    for metric in AT_LEAST + AT_MOST:
        bound = bounds.get(metric)
        if bound is None:
            continue
        tolerance = Tolerance(min=bound) if metric in AT_LEAST else Tolerance(max=bound)
        spec = LoadProbe(probe=f"load.{metric}", window=window, request=request)
        scope = f" of {request}" if request else ""
        name = f"{metric}{scope} {tolerance_text(tolerance, spec.probe)}"
        probes.append(SteadyStateProbe(name=name, probe=spec, tolerance=tolerance))
    if not probes:
        raise TypeError("assert_steady needs at least one bound, e.g. success_ratio=0.99")
    return tuple(probes)


def compared_probes(margins: dict[str, float | None], *, window: float,
                    request: str | None = None, alpha: float = 0.05,
                    ) -> tuple[SteadyStateProbe, ...]:
    """One compared load probe per margin given: the experiment group against the control.

    Bigger-is-better statistics take their margin as ``max_drop`` (``success_ratio=0.01``:
    at most 0.01 below control), ``failure_ratio`` and ``failures`` as ``max_rise``, and
    latencies as ``max_ratio`` (``p99_ms=1.5``: at most 1.5 times control's).
    """
    _refuse_unknown(margins, "compared statistic")
    probes = []
    for metric in AT_LEAST + AT_MOST:
        margin = margins.get(metric)
        if margin is None:
            continue
        if metric in AT_LEAST:
            compare = Compare(max_drop=margin, alpha=alpha)
        elif metric.endswith("_ms"):
            compare = Compare(max_ratio=margin, alpha=alpha)
        else:
            compare = Compare(max_rise=margin, alpha=alpha)
        spec = LoadProbe(probe=f"load.{metric}", window=window, request=request)
        scope = f" of {request}" if request else ""
        probes.append(SteadyStateProbe(name=f"{metric}{scope} {compare.describe()}",
                                       probe=spec, compare=compare))
    if not probes:
        raise TypeError("assert_compared needs at least one margin, e.g. success_ratio=0.01")
    return tuple(probes)


@dataclass(frozen=True)
class SteadyCheck:
    """The readings of one steady-state check, and what was going on when it was taken."""

    probes: tuple[SteadyStateProbe, ...]
    readings: tuple[ProbeReading, ...]
    window: float
    context: str = ""
    """What was in effect: "while zone_outage us-east-1a (terminate) was in effect"."""
    report: str = ""
    """Where the system's report will be written, for the person reading a failure."""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.readings)

    @property
    def failed(self) -> list[ProbeReading]:
        return [r for r in self.readings if not r.ok]

    def explain(self) -> str:
        """Every probe: value against tolerance, window, and the fault that was active."""
        held = "held" if self.ok else "did not hold"
        lines = [f"steady state {held} over the last {self.window:g}s"
                 + (f" {self.context}" if self.context else "") + ":"]
        for probe, reading in zip(self.probes, self.readings, strict=True):
            metric = probe.probe.probe
            # The context is already in the heading; the reading's own detail remains.
            detail = reading.detail.removeprefix(self.context).removeprefix("; ")
            expected = [f"tolerance {tolerance_text(probe.tolerance, metric)}"
                        if probe.tolerance is not None else ""]
            if reading.compare is not None:
                expected.append(f"control {value_text(reading.control, metric)}, "
                                f"{reading.compare.describe()}")
            lines.append(
                f"  {'✓' if reading.ok else '✗'} {describe_probe(probe.probe)}: "
                f"{value_text(reading.value, metric)}, "
                + "; ".join(e for e in expected if e)
                + (f" ({detail})" if detail else ""))
        if self.report:
            lines.append(f"report: {self.report}")
        return "\n".join(lines)


class SteadyStateViolation(AssertionError):
    """``assert_steady`` failed: the message names each probe, value, tolerance and fault."""

    def __init__(self, check: SteadyCheck) -> None:
        self.check = check
        super().__init__(check.explain())


def fault_context(active: Sequence[str], reverted: Sequence[tuple[str, float]]) -> str:
    """Words for what was injected around a check: active faults, else the latest reverted."""
    if active:
        return f"while {' and '.join(active)} {'was' if len(active) == 1 else 'were'} in effect"
    if reverted:
        label, ago = reverted[-1]
        return f"({label} reverted {ago:.1f}s before)"
    return "(no fault injected)"
