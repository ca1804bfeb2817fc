"""Reports of a run: ``journal.json``, ``report.html`` and ``junit.xml``.

Everything here is a pure function of the :class:`~chaoskit.report.journal.Journal`
except the two writers below, so a report can be re-rendered from a journal
at any time (``chaoskit report reports/<run>/journal.json``).
"""

from __future__ import annotations

from pathlib import Path

from chaoskit.report.journal import Journal, read_journal, write_journal

HTML_NAME = "report.html"
JUNIT_NAME = "junit.xml"


def write_reports(run_dir: Path, journal: Journal) -> list[Path]:
    """Write journal.json, report.html and junit.xml into ``run_dir``; return their paths."""
    journal_path = write_journal(run_dir, journal)
    return [journal_path, *_render_beside(journal_path, journal)]


def render_reports(journal_path: Path, journal: Journal | None = None) -> list[Path]:
    """Re-render report.html and junit.xml beside a journal (from ``journal`` when given:
    the same run judged again).

    Raises :class:`chaoskit.errors.ConfigError` when the journal is missing or
    not a chaoskit journal.
    """
    return _render_beside(journal_path, journal or read_journal(journal_path))


def _render_beside(journal_path: Path, journal: Journal) -> list[Path]:
    from chaoskit.report.html import render_html
    from chaoskit.report.junit import render_junit

    html_path = journal_path.parent / HTML_NAME
    junit_path = journal_path.parent / JUNIT_NAME
    html_path.write_text(render_html(journal), encoding="utf-8")
    junit_path.write_text(render_junit(journal), encoding="utf-8")
    return [html_path, junit_path]


__all__ = ["Journal", "read_journal", "render_reports", "write_journal", "write_reports"]
