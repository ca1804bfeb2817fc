"""Plain output: one concise line per event worth reading, for CI logs and pipes.

Phase changes, a load line every few seconds, every fault step, steady-state
readings, and guardrail or recovery readings only when they change from ok to
failing or back (they are taken every second, which would drown the log). The
line formatters here are shared with the live panel (``chaoskit.report.live``),
which imports this module; neither imports ``chaoskit.report.terminal``, which
picks between the two.

With control and experiment groups each group gets its own load line (they
arrive as two streams of samples), and a compared reading says both values
and the test's p-value: "experiment 0.901 vs control 0.999, p < 0.001".
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from chaoskit.model.history import (
    AnyEvent,
    Deployed,
    FaultEvent,
    Group,
    GuardrailBreached,
    InstanceChanged,
    Interrupted,
    LoadSample,
    Note,
    PhaseStarted,
    ProbeReading,
    Recovery,
    RunError,
)
from chaoskit.model.verdict import Judgement
from chaoskit.report.series import compared_text, group_label, reading_detail, window_stats

LOAD_EVERY = 5
"""Seconds between load lines in plain output."""


class PlainView:
    """One concise line per event worth reading, prefixed by seconds since the run began."""

    def __init__(self, title: str, out: TextIO | None = None) -> None:
        self.title = title
        self._out = out
        self._origin: float | None = None
        self._samples: dict[Group, list[LoadSample]] = {}
        self._last_load_line: dict[Group, int] = {}
        self._last_ok: dict[tuple[str, str], bool] = {}
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._print(f"chaoskit: {self.title}")

    def event(self, e: AnyEvent) -> None:
        self.start()
        if self._origin is None:
            self._origin = e.t
        line = self.describe(e)
        if line is not None:
            self._print(f"{e.t - self._origin:7.1f}s  {line}")

    def stop(self, judgement: Judgement, run_dir: Path) -> None:
        for line in verdict_lines(judgement, run_dir, self.title):
            self._print(line)

    def describe(self, e: AnyEvent) -> str | None:
        """The line for one event, or None when it is not worth a line of its own."""
        if isinstance(e, LoadSample):
            return self._load(e)
        if isinstance(e, ProbeReading):
            return self._probe(e)
        return describe_event(e)

    def _load(self, sample: LoadSample) -> str | None:
        group = sample.group
        samples = [*self._samples.get(group, [])[-(LOAD_EVERY - 1):], sample]
        self._samples[group] = samples
        last = self._last_load_line.get(group)
        if last is not None and sample.second - last < LOAD_EVERY:
            return None
        self._last_load_line[group] = sample.second
        line = describe_load(samples, sample.users)
        if group:
            # Both groups' lines line up: "load   experiment  ..." over "load   control     ...".
            return f"load   {group_label(group):<11}{line}"
        return "load   " + line

    def _probe(self, reading: ProbeReading) -> str | None:
        key = (reading.role, reading.name)
        changed = self._last_ok.get(key) != reading.ok
        self._last_ok[key] = reading.ok
        if reading.role != "steady_state" and not changed:
            return None
        return describe_reading(reading)

    def _print(self, line: str) -> None:
        # Looked up at each write so a captured or redirected stdout is honoured.
        print(line, file=self._out or sys.stdout, flush=True)


def describe_event(e: AnyEvent) -> str | None:
    """A one-line description shared by the plain and the live view."""
    if isinstance(e, PhaseStarted):
        return f"phase  {e.phase.value}"
    if isinstance(e, FaultEvent):
        return describe_fault(e)
    if isinstance(e, ProbeReading):
        return describe_reading(e)
    if isinstance(e, GuardrailBreached):
        detail = f" ({e.detail})" if e.detail else ""
        return (f"ABORT  guardrail {e.name} breached: {format_value(e.value)}, "
                f"expected {e.expected or e.tolerance}{detail}; reverting")
    if isinstance(e, Recovery):
        if e.seconds is None:
            return f"recovery: the steady state did not return within {e.within:g}s"
        return f"recovered in {e.seconds:.1f}s"
    if isinstance(e, Interrupted):
        return f"interrupted by {e.signal}: reverting and tearing down"
    if isinstance(e, RunError):
        return f"ERROR  {e.phase.value + ': ' if e.phase else ''}{e.message}"
    if isinstance(e, Note):
        return f"note   {e.message}"
    if isinstance(e, InstanceChanged):
        return f"inst   {e.instance}: {e.was} -> {e.state}"
    if isinstance(e, Deployed):
        return f"deploy {e.group}: {len(e.instances)} instances up in {e.seconds:.1f}s"
    return None


def describe_fault(e: FaultEvent) -> str:
    step = e.step.replace("_", " ")
    line = f"fault  {e.fault} {e.label}: {step}"
    if e.step in ("inject_effective", "inject_called") and e.targets:
        shown = ", ".join(e.targets[:4]) + (f" +{len(e.targets) - 4} more"
                                            if len(e.targets) > 4 else "")
        line += f" [{shown}]"
    if e.detail:
        line += f" ({e.detail})"
    return line


def describe_reading(r: ProbeReading) -> str:
    role = {"steady_state": "probe ", "guardrail": "guard ", "recovery": "recov "}[r.role]
    mark = "ok" if r.ok else "FAIL"
    detail = f"  ({reading_detail(r)})" if reading_detail(r) and not r.ok else ""
    if r.compare is not None:
        return (f"{role} {r.phase.value:<8} {r.name}: {compared_text(r, format_value)} "
                f"[{r.expected}] {mark}{detail}")
    return (f"{role} {r.phase.value:<8} {r.name} = {format_value(r.value)} "
            f"[{r.expected}] {mark}{detail}")


def describe_load(samples: list[LoadSample], users: int) -> str:
    stats = window_stats(samples)
    success = "-" if stats.success is None else f"{stats.success:.2%}"
    p99 = "-" if stats.p99_ms is None else f"{stats.p99_ms:.0f} ms"
    return f"{stats.rps:6.1f} rps  success {success}  p99 {p99}  {users} users"


def verdict_lines(judgement: Judgement, run_dir: Path, title: str) -> list[str]:
    lines = ["", f"{judgement.verdict.value.upper()}  {title}"]
    lines += [f"  - {reason}" for reason in judgement.reasons]
    report = run_dir / "report.html"
    lines.append(f"report: {report}")
    return lines


def format_value(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"
