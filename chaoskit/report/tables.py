"""The page's tables: the hypothesis at baseline/during/after, recovery, guardrails, faults.

Every string from the journal goes through ``escape``: titles, probe names and
fault details are user input and must never become markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from chaoskit.model.experiment import Experiment, SteadyStateProbe
from chaoskit.model.history import (
    Deployed,
    GuardrailBreached,
    Interrupted,
    Note,
    Phase,
    ProbeReading,
    RunError,
)
from chaoskit.model.probes import Compare as Comparison
from chaoskit.model.probes import (
    HttpProbe,
    InstancesProbe,
    InvariantProbe,
    LoadProbe,
    MetricProbe,
    ProbeSpec,
)
from chaoskit.model.tolerance import Tolerance
from chaoskit.report.journal import Journal
from chaoskit.report.series import fault_windows, p_text, reading_detail

TIMES, ALPHA = "\u00d7", "\u03b1"
"""The multiplication sign and alpha, escaped so no reader mistakes them for x and a."""

HYPOTHESIS_COLUMNS = ((Phase.BASELINE, "Baseline"), (Phase.OBSERVE, "During the fault"),
                      (Phase.VERIFY, "After (verify)"))


def clock(t: float) -> str:
    """An absolute UTC time a person can put beside other logs."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def offset(t: float | None, t0: float) -> str:
    return "—" if t is None else f"+{t - t0:.1f} s"


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def value_text(value: float | None, metric: str) -> str:
    """A reading in the probe's own unit: ratios as percentages, latencies in ms."""
    if value is None:
        return "no data"
    if metric.endswith("_ratio"):
        return f"{value * 100:.2f}%"
    if metric.endswith("_ms"):
        return f"{value:.0f} ms"
    return f"{value:.4g}"


def tolerance_text(tolerance: Tolerance, metric: str) -> str:
    """A tolerance in the probe's unit: "≥ 99%" reads better than ">= 0.99"."""

    def bound(v: float) -> str:
        return f"{v * 100:.4g}%" if metric.endswith("_ratio") else value_text(v, metric)

    if tolerance.equals is not None:
        return f"= {bound(tolerance.equals)}"
    parts = []
    if tolerance.min is not None:
        parts.append(f"≥ {bound(tolerance.min)}")
    if tolerance.max is not None:
        parts.append(f"≤ {bound(tolerance.max)}")
    return " and ".join(parts)


def compare_text(compare: Comparison, metric: str) -> str:
    """A comparison's margin in the probe's unit: "≤ 1 pt below control" for a ratio."""
    ratio = metric.endswith("_ratio")

    def amount(v: float) -> str:
        return f"{v * 100:.4g} pt" if ratio else value_text(v, metric)

    if compare.max_drop is not None:
        margin = f"≤ {amount(compare.max_drop)} below control"
    elif compare.max_rise is not None:
        margin = f"≤ {amount(compare.max_rise)} above control"
    else:
        margin = f"≤ {compare.max_ratio:g}{TIMES} control"
    return f"{margin} ({ALPHA} {compare.alpha:g})"


def expected_text(tolerance: Tolerance | None, compare: Comparison | None, metric: str) -> str:
    """What a probe's reading must be: its tolerance, its comparison, or both."""
    parts = [] if tolerance is None else [tolerance_text(tolerance, metric)]
    if compare is not None:
        parts.append(compare_text(compare, metric))
    return " and ".join(parts)


def groups_text(experiment: Experiment) -> str:
    """How the run was split into groups ("" without groups)."""
    groups = experiment.groups
    if not groups.control:
        return ""
    if groups.share is None:
        return "control and experiment, two deployments"
    return (f"control and experiment cohorts of {groups.share * 100:.4g}% of requests each "
            f"(header {groups.header}), one deployment")


def startup_text(journal: Journal) -> str:
    """Each deployment's start-up, "experiment 12.3 s (27 instances) · control 11.8 s (27
    instances)" ("" when the run recorded none: one deployment)."""
    return " · ".join(f"{d.group} {seconds(d.seconds)} ({len(d.instances)} instances)"
                      for d in journal.history.of_type(Deployed))


def metric_of(spec: ProbeSpec) -> str:
    return spec.probe


def describe_probe(spec: ProbeSpec) -> str:
    if isinstance(spec, LoadProbe):
        scope = f" of {spec.request}" if spec.request else ""
        return f"{spec.probe}{scope} over {spec.window:g} s"
    if isinstance(spec, HttpProbe):
        return f"GET {spec.url} → {spec.status}"
    if isinstance(spec, InstancesProbe):
        return f"healthy instances of {spec.selector.describe()}"
    if isinstance(spec, MetricProbe):
        return f"metric {spec.metric} on {spec.selector.describe()}"
    if isinstance(spec, InvariantProbe):
        return f"invariant {spec.url} ({spec.field})"
    return spec.describe()


def mark(ok: bool | None) -> str:
    if ok is None:
        return '<span class="mark none">not run</span>'
    if ok:
        return '<span class="mark ok">✓ ok</span>'
    return '<span class="mark failed">✗ failed</span>'


def hypothesis_table(journal: Journal) -> str:
    readings = [r for r in journal.history.of_type(ProbeReading) if r.role == "steady_state"]
    t0 = journal.started
    head = "".join(f"<th>{label}</th>" for _, label in HYPOTHESIS_COLUMNS)
    compared = any(p.compare is not None for p in journal.experiment.steady_state)
    rows = []
    for probe in journal.experiment.steady_state:
        tolerance = expected_text(probe.tolerance, probe.compare, metric_of(probe.probe))
        cells = "".join(
            f"<td>{_reading_cell(probe, [r for r in readings if (r.phase, r.name) == key], t0)}"
            "</td>"
            for key in ((phase, probe.name) for phase, _ in HYPOTHESIS_COLUMNS))
        rows.append(f"<tr><td><strong>{escape(probe.name)}</strong>"
                    f'<span class="detail">{escape(describe_probe(probe.probe))}</span></td>'
                    f"<td class=num>{escape(tolerance)}</td>{cells}</tr>")
    expected = "Expected" if compared else "Tolerance"
    return (f"<table class=hypothesis><thead><tr><th>Probe</th><th>{expected}</th>{head}</tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


def _reading_cell(probe: SteadyStateProbe, readings: Sequence[ProbeReading], t0: float) -> str:
    if not readings:
        return mark(None)
    metric = metric_of(probe.probe)
    return "".join(
        f'<span class="{"reading compared" if r.compare else "reading"}">'
        f"{reading_value(r, metric, wrap=True)}{mark(r.ok)}</span>"
        f'<span class="detail">at {offset(r.t, t0)}{_test_detail(r)}'
        f'{"; " + escape(reading_detail(r)) if reading_detail(r) else ""}</span>'
        for r in readings)


def reading_value(r: ProbeReading, metric: str, wrap: bool = False) -> str:
    """A reading's value as HTML (in a ``num`` span when ``wrap``); a compared one as
    "experiment X vs control Y, p …"."""
    value = escape(value_text(r.value, metric))
    if r.compare is None:
        return f'<span class="num">{value}</span>' if wrap else value
    return (f'<span class="versus">experiment</span> <span class="num">{value}</span> '
            '<span class="versus">vs control'
            f'</span> <span class="num">{escape(value_text(r.control, metric))}</span>'
            f'<span class="versus">, {escape(p_text(r.p_value))}</span>')


def _test_detail(r: ProbeReading) -> str:
    return f"; {escape(r.test)}" if r.compare is not None and r.test else ""


def recovery_section(journal: Journal) -> str:
    readings = [r for r in journal.history.of_type(ProbeReading) if r.role == "recovery"]
    t0 = journal.started
    ttr = journal.time_to_recover
    within = journal.experiment.settings.recover_within
    if ttr is not None:
        lead = (f"The steady state held again <strong>{seconds(ttr)}</strong> after the first "
                f"revert call (allowed: {within:g} s).")
    elif readings:
        lead = f"The steady state did <strong>not</strong> return within {within:g} s."
    else:
        return '<p class="empty">Recovery was not measured in this run.</p>'
    rows = []
    for probe in journal.experiment.steady_state:
        mine = [r for r in readings if r.name == probe.name]
        if not mine:
            continue
        metric = metric_of(probe.probe)
        first_ok = next((r for r in mine if r.ok), None)
        rows.append(
            f"<tr><td>{escape(probe.name)}</td><td class=num>{len(mine)}</td>"
            f"<td class=num>{sum(not r.ok for r in mine)}</td>"
            f"<td class=num>{reading_value(mine[0], metric)} {mark(mine[0].ok)}</td>"
            f"<td class=num>{reading_value(mine[-1], metric)} {mark(mine[-1].ok)}</td>"
            f"<td class=num>{offset(first_ok.t if first_ok else None, t0)}</td></tr>")
    table = ("<table><thead><tr><th>Probe</th><th>Checks</th><th>Failing</th>"
             "<th>First reading</th><th>Last reading</th><th>First ok at</th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>") if rows else ""
    return f'<p class="note">{lead}</p>{table}'


def guardrails_section(journal: Journal) -> str:
    guardrails = journal.experiment.guardrails
    if not guardrails:
        return '<p class="empty">No guardrails were declared.</p>'
    readings = [r for r in journal.history.of_type(ProbeReading) if r.role == "guardrail"]
    breaches = journal.history.of_type(GuardrailBreached)
    rows = []
    for guardrail in guardrails:
        metric = metric_of(guardrail.probe)
        own = [r for r in readings if r.name == guardrail.name]
        values = [r.value for r in own if r.value is not None]
        mine = [b for b in breaches if b.name == guardrail.name]
        span = (f"{escape(value_text(min(values), metric))} … "
                f"{escape(value_text(max(values), metric))}") if values else "—"
        controls = [r.control for r in own if r.control is not None]
        if guardrail.compare is not None and controls:
            span = (f'<span class="versus">experiment</span> {span}<span class="detail">'
                    f"control {escape(value_text(min(controls), metric))} … "
                    f"{escape(value_text(max(controls), metric))}</span>")
        expected = expected_text(guardrail.tolerance, guardrail.compare, metric)
        state = mark(not mine) if values or mine else mark(None)
        breach = "".join(f'<span class="detail">breached at {offset(b.t, journal.started)}: '
                         f"{escape(value_text(b.value, metric))}"
                         f'{"; " + escape(b.detail) if b.detail else ""}</span>' for b in mine)
        rows.append(f"<tr><td>{escape(guardrail.name)}<span class=detail>"
                    f"{escape(describe_probe(guardrail.probe))}</span></td>"
                    f"<td class=num>{escape(expected)}</td>"
                    f"<td class=num>{len([r for r in readings if r.name == guardrail.name])}</td>"
                    f"<td class=num>{span}</td><td>{state}{breach}</td></tr>")
    head = "Expected" if any(g.compare is not None for g in guardrails) else "Tolerance"
    return (f"<table><thead><tr><th>Guardrail</th><th>{head}</th><th>Checks</th>"
            "<th>Range seen</th><th>Result</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def faults_section(journal: Journal) -> str:
    windows = fault_windows(journal.history)
    if not windows:
        return '<p class="empty">No fault was injected.</p>'
    t0 = journal.started
    rows = []
    for w in windows:
        targets = "".join(f'<code class="target">{escape(t)}</code>' for t in w.targets) or "—"
        kind = "" if w.label.startswith(w.kind) else f'<span class="detail">{escape(w.kind)}</span>'
        in_effect = (w.end - w.start) if w.start is not None and w.end is not None else None
        status = mark(not w.failed) + "".join(
            f'<span class="detail">{escape(e.step.replace("_", " "))}: {escape(e.detail)}</span>'
            for e in w.failed)
        rows.append(
            f"<tr><td><strong>{escape(w.fault)}</strong> {escape(w.label)}{kind}</td>"
            f"<td>{targets}</td>"
            f"<td class=num>{offset(w.inject_called, t0)}</td>"
            f"<td class=num>{offset(w.inject_effective, t0)}"
            f'<span class="detail">actuation {seconds(w.inject_actuation)}</span></td>'
            f"<td class=num>{offset(w.revert_called, t0)}</td>"
            f"<td class=num>{offset(w.revert_effective, t0)}"
            f'<span class="detail">actuation {seconds(w.revert_actuation)}</span></td>'
            f"<td class=num>{seconds(in_effect)}</td><td>{status}</td></tr>")
    return ("<table><thead><tr><th>Fault</th><th>Targets</th><th>Inject called</th>"
            "<th>Inject effective</th><th>Revert called</th><th>Revert effective</th>"
            "<th>In effect</th><th>Result</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def problems_section(journal: Journal) -> str:
    """Errors, interruptions, failed fault steps and notes, in time order."""
    t0 = journal.started
    items: list[tuple[float, str, str]] = []
    for e in journal.history.of_type(RunError):
        items.append((e.t, "error", f"{e.phase.value + ': ' if e.phase else ''}{e.message}"))
    for i in journal.history.of_type(Interrupted):
        items.append((i.t, "interrupted", f"interrupted by {i.signal}"))
    for w in fault_windows(journal.history):
        items += [(e.t, "fault", f"{w.fault} {w.label}: {e.step.replace('_', ' ')}: {e.detail}")
                  for e in w.failed]
    for n in journal.history.of_type(Note):
        items.append((n.t, "note", n.message))
    if not items:
        return '<p class="empty">No errors, interruptions or notes.</p>'
    rows = "".join(f"<tr><td class=num>{offset(t, t0)}</td><td>{escape(kind)}</td>"
                   f"<td>{escape(text)}</td></tr>" for t, kind, text in sorted(items))
    return ("<table><thead><tr><th>When</th><th>Kind</th><th>What</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")
