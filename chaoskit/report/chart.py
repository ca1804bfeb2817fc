"""The timeline chart: RPS, success ratio and p99 per second, as SVG drawn in Python.

Drawn server-side so the page shows its chart with JavaScript off, in a mail
attachment or a CI artifact viewer; the page's small script only adds a hover
read-out. Fault windows are shaded across every panel and labelled; phase
starts are vertical lines with their names, staggered so none overlap.

A run with control and experiment groups draws both on the same panels: the
experiment group solid in the panel's colour (it had the faults), the control
group dashed in grey (the measure of normal), each panel with its own small
legend; a compared reading shows the control's value as a ring beside the
experiment's dot. A run without groups is drawn exactly as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from chaoskit.model.history import Group, ProbeReading
from chaoskit.model.probes import LoadProbe
from chaoskit.report.journal import Journal
from chaoskit.report.series import (
    SecondPoint,
    fault_windows,
    group_label,
    load_groups,
    per_second,
    phase_spans,
)

WIDTH = 1120
LEFT, RIGHT = 70, 96
PANEL_H, PANEL_GAP = 118, 34
LABEL_ROW = 15
CHAR_W = 6.6  # average width of an 11px label, to keep labels from colliding
CONTROL_COLOR = "#57606a"
"""The control group's lines: a neutral grey, dashed, so it reads as the reference and
stays apart from the experiment's colour in print and for colour-blind readers."""


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    metric: str
    """The load probe whose tolerance and readings belong on this panel."""
    color: str
    value: Callable[[SecondPoint], float | None]
    fmt: Callable[[float], str]


PANELS = (
    Panel("rps", "requests / s", "load.rps", "#0969da", lambda p: p.rps, lambda v: f"{v:g}"),
    Panel("success", "success ratio", "load.success_ratio", "#1a7f37", lambda p: p.success,
          lambda v: f"{v * 100:.4g}%"),
    Panel("p99", "p99 latency (ms)", "load.p99_ms", "#8250df", lambda p: p.p99_ms,
          lambda v: f"{v:g}"),
)


@dataclass(frozen=True)
class Series:
    """The per-second points of one group ("" : all traffic, or an ungrouped run)."""

    group: Group
    points: Sequence[SecondPoint]


def load_series(journal: Journal) -> list[Series]:
    """One series per group the load samples carry, in the reports' order."""
    return [Series(g, per_second(journal.history, g)) for g in load_groups(journal.history)]


@dataclass(frozen=True)
class Frame:
    t0: float
    span: float
    top: float
    """Y of the first panel's top edge (below the phase and fault labels)."""

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / self.span * (WIDTH - LEFT - RIGHT)


@dataclass(frozen=True)
class Mark:
    """Something labelled on the timeline: a phase start, a fault window, the recovery."""

    kind: str
    start: float
    end: float | None
    """The end of a shaded window; None for a vertical line."""
    text: str


def render_chart(journal: Journal) -> str:
    """The timeline as one ``<svg>`` element (empty-state text when there was no load)."""
    series = load_series(journal)
    seconds = [p.second for s in series for p in s.points]
    if not seconds:
        return '<p class="empty">No load samples were recorded for this run.</p>'
    t0 = min(journal.started, min(seconds))
    end = max(journal.ended, max(seconds) + 1.0)
    phases = [Mark("phase", s.start, None, s.phase.value)
              for s in phase_spans(journal.history, end)]
    overlays = _overlays(journal, end)
    # Phase names take the first label rows, fault and recovery labels the rows below.
    phase_rows = _place_labels([(m.start, m.text) for m in phases], t0, end - t0)
    first_overlay_row = max(phase_rows.values(), default=0) + 1
    overlay_rows = {i: first_overlay_row + row for i, row in _place_labels(
        [(m.start, m.text) for m in overlays], t0, end - t0).items()}
    rows = max([*phase_rows.values(), *overlay_rows.values()], default=0) + 1
    # With groups the first panel's title row also carries its legend: a row of its own,
    # clear of the phase and fault labels.
    grouped = any(s.group for s in series)
    frame = Frame(t0, end - t0, top=rows * LABEL_ROW + 10 + (LABEL_ROW if grouped else 0))
    bottom = frame.top + len(PANELS) * (PANEL_H + PANEL_GAP) - PANEL_GAP
    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {bottom + 34:.0f}" role="img" '
        f'aria-label="timeline of the run" data-t0="{t0:.3f}" data-span="{frame.span:.3f}" '
        f'data-left="{LEFT}" data-right="{RIGHT}" data-width="{WIDTH}">',
        *(_mark(m, frame, overlay_rows[i], bottom) for i, m in enumerate(overlays)),
        *(_mark(m, frame, phase_rows[i], bottom) for i, m in enumerate(phases)),
    ]
    readings = [r for r in journal.history.of_type(ProbeReading) if r.role == "steady_state"]
    for index, panel in enumerate(PANELS):
        top = frame.top + index * (PANEL_H + PANEL_GAP)
        parts.append(_panel(journal, panel, series, readings, frame, top))
    parts.append(_time_axis(frame, bottom))
    parts.append(f'<g class="cursor" visibility="hidden"><line y1="0" y2="{bottom:.1f}"/></g>')
    return "".join(parts) + "</svg>"


def _overlays(journal: Journal, end: float) -> list[Mark]:
    """Fault windows (effective times, falling back on call times) and the moment of recovery."""
    marks = [Mark("fault", w.start, w.end if w.end is not None else end,
                  f"{w.fault} {w.label}")
             for w in fault_windows(journal.history) if w.start is not None]
    ttr = journal.time_to_recover
    calls = [w.revert_called for w in fault_windows(journal.history)
             if w.revert_called is not None]
    if ttr is not None and calls:
        marks.append(Mark("recovered", min(calls) + ttr, None, f"recovered in {ttr:.1f} s"))
    return marks


def _mark(mark: Mark, frame: Frame, row: int, bottom: float) -> str:
    x = frame.x(mark.start)
    y = row * LABEL_ROW + 11
    text = f'<text x="{x + 4:.1f}" y="{y:.1f}">{escape(mark.text)}</text>'
    if mark.end is None:
        return (f'<g class="{mark.kind}"><line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 10:.1f}" '
                f'y2="{bottom:.1f}"/>{text}</g>')
    width = max(frame.x(mark.end) - x, 2)
    return (f'<g class="{mark.kind}"><title>{escape(mark.text)}</title>'
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="{width:.1f}" '
            f'height="{bottom - y + 10:.1f}" class="fault-window"/>{text}</g>')


def _panel(journal: Journal, panel: Panel, series: Sequence[Series],
           readings: Sequence[ProbeReading], frame: Frame, top: float) -> str:
    values = [v for s in series for v in (panel.value(p) for p in s.points) if v is not None]
    names = _probe_names(journal, panel.metric)
    values += [r.control for r in readings if r.name in names and r.control is not None]
    tolerances = _tolerances(journal, panel.metric)
    grouped = any(s.group for s in series)
    lo, hi = _domain(panel.key, values + [b for _, b in tolerances])
    ticks = [t for t in _ticks(lo, hi) if panel.key != "success" or t <= 1.0]

    def y(v: float) -> float:
        return top + PANEL_H - (v - lo) / (hi - lo) * PANEL_H

    out = [f'<g class="panel" data-panel="{panel.key}">',
           f'<text class="panel-title" x="{LEFT}" y="{top - 6:.1f}">{escape(panel.title)}</text>']
    for tick in ticks:
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                   f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
                   f'text-anchor="end">{escape(panel.fmt(tick))}</text>')
    if grouped:
        out.append(_panel_legend(panel, [s.group for s in series], top))
    # The control first, so the experiment's line (the one with the faults) lies on top.
    for s in sorted(series, key=lambda s: s.group != "control"):
        points = s.points
        line = _path([(frame.x(p.second + 0.5), panel.value(p)) for p in points], y)
        main = s.group == ("experiment" if grouped else "")
        if panel.key == "rps" and line and main:
            base = y(lo)
            first = frame.x(points[0].second + 0.5)
            last = frame.x(points[-1].second + 0.5)
            out.append(f'<path class="area" fill="{panel.color}" '
                       f'd="{line} L{last:.1f},{base:.1f} L{first:.1f},{base:.1f} Z"/>')
        out.append(f'<path class="{_series_class(s.group, grouped)}" '
                   f'stroke="{_series_color(panel, s.group)}" d="{line}"/>')
    for kind, bound in tolerances:
        out.append(f'<line class="tolerance" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                   f'y1="{y(bound):.1f}" y2="{y(bound):.1f}"/>'
                   f'<text class="tolerance-label" x="{WIDTH - RIGHT + 6}" '
                   f'y="{y(bound) + 4:.1f}">{kind} {escape(panel.fmt(bound))}</text>')
    for r in readings:
        if r.value is None or r.name not in names:
            continue
        state = "ok" if r.ok else "failed"
        if r.control is not None:
            # The control's value over the same window: a ring behind the experiment's dot.
            out.append(f'<circle class="reading control {state}" cx="{frame.x(r.t):.1f}" '
                       f'cy="{y(min(max(r.control, lo), hi)):.1f}" r="4.5"><title>'
                       f'{escape(r.phase.value)}: {escape(r.name)}, control = '
                       f'{r.control:.4g}</title></circle>')
        compared = f" vs control {r.control:.4g}" if r.control is not None else ""
        out.append(f'<circle class="reading {state}" cx="{frame.x(r.t):.1f}" '
                   f'cy="{y(min(max(r.value, lo), hi)):.1f}" r="4.5"><title>'
                   f'{escape(r.phase.value)}: {escape(r.name)} = {r.value:.4g}{compared} '
                   f'({escape(r.expected)}) {state}</title></circle>')
    out.append(f'<rect class="frame" x="{LEFT}" y="{top:.1f}" width="{WIDTH - LEFT - RIGHT}" '
               f'height="{PANEL_H}"/></g>')
    return "".join(out)


def _series_class(group: Group, grouped: bool) -> str:
    if not grouped:
        return "series"
    return f"series {group or 'all'}"


def _series_color(panel: Panel, group: Group) -> str:
    return CONTROL_COLOR if group == "control" else panel.color


def _panel_legend(panel: Panel, groups: Sequence[Group], top: float) -> str:
    """Which line is which group, at the right of the panel's title row."""
    entries = sorted(groups, key=lambda g: ("experiment", "control", "").index(g))
    out = ['<g class="panel-legend">']
    x = float(WIDTH - RIGHT)
    for group in reversed(entries):
        text = group_label(group)
        x -= len(text) * CHAR_W + 34
        out.append(f'<line class="{_series_class(group, True)}" '
                   f'stroke="{_series_color(panel, group)}" x1="{x:.1f}" x2="{x + 22:.1f}" '
                   f'y1="{top - 10:.1f}" y2="{top - 10:.1f}"/>'
                   f'<text x="{x + 27:.1f}" y="{top - 6:.1f}">{escape(text)}</text>')
    return "".join(out) + "</g>"


def _probe_names(journal: Journal, metric: str) -> set[str]:
    return {p.name for p in journal.experiment.steady_state
            if isinstance(p.probe, LoadProbe) and p.probe.probe == metric}


def _tolerances(journal: Journal, metric: str) -> list[tuple[str, float]]:
    """The bounds of whole-traffic steady-state probes on this metric, drawn as lines."""
    bounds: list[tuple[str, float]] = []
    for probe in journal.experiment.steady_state:
        if not isinstance(probe.probe, LoadProbe) or probe.probe.probe != metric:
            continue
        if probe.probe.request is not None:
            continue  # a bound on one request name does not apply to the total
        tol = probe.tolerance
        if tol is None:
            continue  # compared only: its bound moves with the control, drawn as its line
        bounds += [(k, v) for k, v in (("min", tol.min), ("max", tol.max), ("=", tol.equals))
                   if v is not None]
    return bounds


def _domain(key: str, values: list[float]) -> tuple[float, float]:
    if not values:
        return (0.0, 1.0)
    if key == "success":
        # Zoom in on the top of the range, where a steady state lives, but never hide a dip.
        low = min(values)
        step = 0.01 if low >= 0.95 else 0.05 if low >= 0.75 else 0.25
        lo = max(0.0, math.floor(low / step - 1e-9) * step - (step if low > 0.99 else 0))
        # A little headroom above 100%, so a perfect line is not hidden by the frame.
        return (lo, 1.0 + (1.0 - lo) * 0.05)
    top = max(values) * 1.08
    return (0.0, _nice(top, (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)) if top > 0 else 1.0)


def _nice(value: float, steps: Sequence[float] = (1, 2, 2.5, 5, 10)) -> float:
    """The smallest round number (a step times a power of ten) at least ``value``."""
    exponent = 10.0 ** math.floor(math.log10(value))
    for step in steps:
        if step * exponent >= value:
            return step * exponent
    return 10 * exponent


def _ticks(lo: float, hi: float) -> list[float]:
    step = _nice((hi - lo) / 4)
    first = math.ceil(lo / step - 1e-9) * step
    count = int((hi - first) / step + 1e-9) + 1
    return [round(first + i * step, 10) for i in range(count)]


def _path(points: list[tuple[float, float | None]], y: Callable[[float], float]) -> str:
    """An SVG path through the points; a missing value breaks the line instead of faking it."""
    out, pen_down = [], False
    for x, v in points:
        if v is None:
            pen_down = False
            continue
        out.append(f"{'L' if pen_down else 'M'}{x:.1f},{y(v):.1f}")
        pen_down = True
    return " ".join(out)


def _time_axis(frame: Frame, bottom: float) -> str:
    step = _nice(frame.span / 10)
    out = ['<g class="axis">']
    t = 0.0
    while t <= frame.span + 1e-9:
        x = frame.x(frame.t0 + t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom:.1f}" y2="{bottom + 5:.1f}"/>'
                   f'<text x="{x:.1f}" y="{bottom + 18:.1f}" text-anchor="middle">'
                   f'{t:g}s</text>')
        t += step
    out.append("</g>")
    return "".join(out)


def _place_labels(items: list[tuple[float, str]], t0: float, span: float) -> dict[int, int]:
    """Row per label so that no two labels overlap: the first row where the label fits."""
    frame = Frame(t0, span, 0)
    row_ends: list[float] = []
    rows: dict[int, int] = {}
    for index, (t, text) in enumerate(items):
        x = frame.x(t)
        width = len(text) * CHAR_W + 10
        row = next((r for r, end in enumerate(row_ends) if x >= end), len(row_ends))
        if row == len(row_ends):
            row_ends.append(0.0)
        row_ends[row] = x + width
        rows[index] = row
    return rows
