"""``report.html`` and ``junit.xml`` of a CTK run, from its CTK-shaped journal.

Chosen over mapping the run into chaoskit's History: that History is made of
numeric probe readings and fault windows, while a CTK run is activities with
arbitrary JSON outputs and tolerances that are not bounds (a regex, a JSON
path, a probe). Squeezed into ``ProbeReading(value: float)`` they would show
as 1/0. So the page is CTK-shaped, but built from the report layer: the same
stylesheet and verdict colours, verdict header, facts grid and ✓/✗ marks
(``chaoskit.report.style``, ``.html``, ``.tables``), and JUnit's conventions of
``chaoskit.report.junit`` (one testcase per probe per phase; a phase never run is
*skipped* with the reason; an interruption is an *error*, not a failure).

Only ``chaoskit.report.style`` is imported: ``report.html``, ``.tables`` and
``.junit`` pull in ``report.series`` → ``checks.compare`` → scipy, 1-4 s of start-up
for every ``chaoskit run`` of a CTK file that compares nothing. The few helpers
they would give (the ✓/✗ mark, seconds, verdict words) are the small ones below.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from pathlib import Path

from chaoskit.ctk.journal import ActivityRun, CtkJournal, SteadyState
from chaoskit.report.style import CSS, JS, VERDICT_COLORS

HTML_NAME = "report.html"
JUNIT_NAME = "junit.xml"
VERDICT_WORDS = {"passed": "Passed", "deviated": "Deviated", "aborted": "Aborted",
                 "not_steady": "Not steady", "error": "Error", "interrupted": "Interrupted"}
VERDICT_GLYPHS = {"passed": "✓", "deviated": "✗", "aborted": "■", "not_steady": "!",
                  "error": "!", "interrupted": "■"}


@dataclass(frozen=True)
class Outcome:
    """How one testcase ended: ``kind`` is "", "failure", "error" or "skipped"."""

    name: str
    kind: str = ""
    message: str = ""
    text: str = ""


def mark(ok: bool | None) -> str:
    """The report's ✓ ok / ✗ failed / not run badge (the stylesheet's ``.mark``)."""
    if ok is None:
        return '<span class="mark none">not run</span>'
    if ok:
        return '<span class="mark ok">✓ ok</span>'
    return '<span class="mark failed">✗ failed</span>'


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def write_reports(run_dir: Path, journal: CtkJournal) -> list[Path]:
    """Write report.html and junit.xml beside the journal; return their paths."""
    html_path = run_dir / HTML_NAME
    junit_path = run_dir / JUNIT_NAME
    html_path.write_text(render_html(journal), encoding="utf-8")
    junit_path.write_text(render_junit(journal), encoding="utf-8")
    return [html_path, junit_path]


def render_html(journal: CtkJournal) -> str:
    record = journal.chaoskit
    verdict = record.verdict
    title = str(journal.experiment.get("title", ""))
    description = str(journal.experiment.get("description", ""))
    reasons = "".join(f"<li>{escape(r)}</li>" for r in record.reasons)
    header = (
        f'<header class="verdict" style="--verdict: {VERDICT_COLORS[verdict]}">'
        '<div class="inner"><span class="badge">chaoskit verdict · Chaos Toolkit experiment'
        f'</span><p class="verdict-word">{VERDICT_GLYPHS[verdict]} '
        f"{escape(VERDICT_WORDS[verdict])}</p><h1>{escape(title)}</h1>"
        + (f'<p class="description">{escape(description)}</p>' if description else "")
        + (f'<ul class="reasons">{reasons}</ul>' if reasons else "") + "</div></header>")
    facts = [
        ("CTK status", journal.status), ("Deviated", str(journal.deviated).lower()),
        ("Exit code", str(record.exit_code)), ("Duration", seconds(journal.duration)),
        ("Started", journal.start), ("Hypothesis strategy", record.hypothesis_strategy),
        ("Rollback strategy", record.rollback_strategy),
        ("Rollbacks", ("played: " if record.rollbacks_played else "not played: ")
         + record.rollbacks_why),
    ]
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in facts)
    sections = [
        ("Steady-state hypothesis", _hypothesis(journal)),
        ("Method", _runs(journal.run, "The method was not run.")),
        ("Rollbacks", _runs(journal.rollbacks, "No rollback was played.")),
        ("Differences from Chaos Toolkit and ignored keys", _notes(journal)),
        ("Experiment as declared", "<details><summary>experiment</summary><pre>"
         f"{escape(json.dumps(journal.experiment, indent=2, ensure_ascii=False))}</pre>"
         "</details>"),
    ]
    body = "".join(f"<section><h2>{escape(name)}</h2>{html}</section>" for name, html in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(VERDICT_WORDS[verdict])}: {escape(title)} · chaoskit</title>"
            f"<style>{CSS}</style></head><body data-verdict=\"{escape(verdict)}\">{header}"
            f'<main><dl class="facts">{items}</dl>{body}<footer>Generated by chaoskit from '
            "<code>journal.json</code> (Chaos Toolkit's journal shape).</footer></main>"
            f"<script>{JS}</script></body></html>\n")


def _hypothesis(journal: CtkJournal) -> str:
    states = journal.steady_states
    columns: list[tuple[str, list[SteadyState]]] = [
        ("Before the method", [states.before] if states.before else []),
        ("During the method", list(states.during)),
        ("After the method", [states.after] if states.after else []),
    ]
    if not states.during:  # only the during strategies check it: no empty column otherwise
        columns.pop(1)
    names: list[str] = []
    for _, group in columns:
        for state in group:
            for probe in state.probes:
                name = str(probe.activity.get("name"))
                if name not in names:
                    names.append(name)
    if not names:
        return '<p class="empty">No hypothesis probe was run.</p>'
    head = "".join(f"<th>{label}</th>" for label, _ in columns)
    rows = []
    for name in names:
        cells = []
        for _, group in columns:
            runs = [p for s in group for p in s.probes if p.activity.get("name") == name]
            if not runs:
                cells.append(f"<td>{mark(None)}</td>")
                continue
            met = sum(bool(r.tolerance_met) for r in runs)
            detail = f"{met} of {len(runs)} met" if len(runs) > 1 else _output(runs[-1])
            cells.append(f"<td>{mark(met == len(runs))}<span class=\"detail\">"
                         f"{escape(detail)}</span></td>")
        tolerance = _tolerance_of(journal, name)
        rows.append(f"<tr><td><strong>{escape(name)}</strong></td>"
                    f"<td><code>{escape(tolerance)}</code></td>{''.join(cells)}</tr>")
    return (f"<table><thead><tr><th>Probe</th><th>Tolerance</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _tolerance_of(journal: CtkJournal, name: str) -> str:
    hypothesis = journal.experiment.get("steady-state-hypothesis")
    probes = hypothesis.get("probes") if isinstance(hypothesis, dict) else None
    for probe in probes if isinstance(probes, list) else []:
        if isinstance(probe, dict) and probe.get("name") == name:
            return json.dumps(probe.get("tolerance"), ensure_ascii=False)
    return "—"


def _runs(runs: list[ActivityRun], empty: str) -> str:
    if not runs:
        return f'<p class="empty">{escape(empty)}</p>'
    rows = "".join(
        f"<tr><td><strong>{escape(str(r.activity.get('name')))}</strong>"
        f'<span class="detail">{escape(str(r.activity.get("type")))} · '
        f"{escape(_provider(r))}</span></td><td>{mark(r.status == 'succeeded')}</td>"
        f"<td class=num>{seconds(r.duration)}</td><td><code>{escape(_output(r))}</code></td></tr>"
        for r in runs)
    return ("<table><thead><tr><th>Activity</th><th>Result</th><th>Took</th><th>Output</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _provider(run: ActivityRun) -> str:
    provider = run.activity.get("provider")
    if not isinstance(provider, dict):
        return ""
    kind = provider.get("type")
    if kind == "http":
        return f"{provider.get('method', 'GET')} {provider.get('url')}"
    if kind == "process":
        return f"$ {provider.get('path')} {json.dumps(provider.get('arguments', ''))}"
    return f"{provider.get('module')}.{provider.get('func')}()"


def _output(run: ActivityRun, limit: int = 200) -> str:
    if run.status == "failed":
        return (run.exception or ["failed"])[-1].strip()
    text = json.dumps(run.output, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _notes(journal: CtkJournal) -> str:
    lines = [*journal.chaoskit.notes, *(f"ignored: {i}" for i in journal.chaoskit.ignored)]
    if not lines:
        return '<p class="empty">This run went as Chaos Toolkit would have run it.</p>'
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


def render_junit(journal: CtkJournal) -> str:
    """One testsuite; a testcase per hypothesis probe per phase, one for the run's end."""
    outcomes = [*_hypothesis_cases(journal), _run_case(journal)]
    record = journal.chaoskit
    suite = ET.Element("testsuite", {
        "name": str(journal.experiment.get("title", "")),
        "tests": str(len(outcomes)),
        "failures": str(sum(o.kind == "failure" for o in outcomes)),
        "errors": str(sum(o.kind == "error" for o in outcomes)),
        "skipped": str(sum(o.kind == "skipped" for o in outcomes)),
        "time": f"{journal.duration:.3f}",
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in (("verdict", record.verdict), ("ctk_status", journal.status),
                        ("deviated", str(journal.deviated).lower()),
                        ("hypothesis_strategy", record.hypothesis_strategy),
                        ("rollback_strategy", record.rollback_strategy)):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for outcome in outcomes:
        case = ET.SubElement(suite, "testcase", {"classname": "chaoskit.ctk", "name": outcome.name,
                                                 "time": "0"})
        if outcome.kind:
            element = ET.SubElement(case, outcome.kind, {"message": outcome.message})
            if outcome.kind != "skipped":
                element.set("type", record.verdict)
            element.text = outcome.text or None
    out = ET.SubElement(suite, "system-out")
    out.text = "\n".join([f"verdict: {record.verdict}", *record.reasons])
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _hypothesis_cases(journal: CtkJournal) -> list[Outcome]:
    hypothesis = journal.experiment.get("steady-state-hypothesis")
    probes = hypothesis.get("probes") if isinstance(hypothesis, dict) else None
    names = [str(p.get("name")) for p in (probes if isinstance(probes, list) else [])
             if isinstance(p, dict)]
    states = journal.steady_states
    phases: list[tuple[str, list[SteadyState], bool]] = [
        ("before", [states.before] if states.before else [], states.before is not None),
        ("during", list(states.during), bool(states.during)),
        ("after", [states.after] if states.after else [], states.after is not None),
    ]
    outcomes = []
    for word, group, ran in phases:
        if not ran:
            if word == "during":
                continue  # only the during strategies check it
            outcomes += [Outcome(f"{word}: {n}", "skipped", _why_not(journal, word))
                         for n in names]
            continue
        for name in names:
            runs = [p for s in group for p in s.probes if p.activity.get("name") == name]
            if not runs:
                outcomes.append(Outcome(f"{word}: {name}", "skipped",
                                        "not run: an earlier probe was not met"))
                continue
            missed = [r for r in runs if not r.tolerance_met]
            if missed:
                outcomes.append(Outcome(f"{word}: {name}", "failure",
                                        f"tolerance not met: {_output(missed[0])}",
                                        "\n".join(_output(r) for r in runs)))
            else:
                outcomes.append(Outcome(f"{word}: {name}"))
    return outcomes


def _why_not(journal: CtkJournal, phase: str) -> str:
    verdict = journal.chaoskit.verdict
    if verdict == "not_steady":
        return "not run: the hypothesis did not hold before the method"
    if verdict == "interrupted":
        return "not run: the run was interrupted"
    if verdict == "aborted":
        return "not run: the run was aborted"
    return f"not run: the {journal.chaoskit.hypothesis_strategy} strategy does not check " \
           f"{phase} the method"


def _run_case(journal: CtkJournal) -> Outcome:
    record = journal.chaoskit
    lines = list(record.reasons)
    if record.verdict in ("interrupted", "error"):
        return Outcome("run", "error", lines[0] if lines else record.verdict, "\n".join(lines))
    if record.verdict == "aborted":
        return Outcome("run", "failure", lines[0] if lines else "aborted", "\n".join(lines))
    return Outcome("run", text="\n".join(lines))
