"""report.html and junit.xml of CTK runs: user data escaped, phases never run skipped with why."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaoskit.ctk.report import render_html, render_junit
from tests.unit.ctk.test_engine import _call, _experiment, _run


def test_user_text_never_becomes_markup(tmp_path: Path) -> None:
    path = _experiment(tmp_path, method=[{"type": "probe", "name": "<b>probe</b>", "provider":
                                          _call("echo", message="<script>alert(1)</script>")}])
    path.write_text(path.read_text().replace("state stays ok", "<img src=x onerror=alert(1)>"))
    html = render_html(_run(path).journal)
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;b&gt;probe&lt;/b&gt;" in html


def test_junit_of_a_gate_that_failed_skips_the_after_checks_and_says_why(tmp_path: Path) -> None:
    suite = ET.fromstring(render_junit(_run(_experiment(tmp_path, state="broken")).journal))
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failure = cases["before: state"].find("failure")
    assert failure is not None and 'tolerance not met: "broken"' in str(failure.get("message"))
    skipped = cases["after: state"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not run: the hypothesis did not hold before the method"
    assert suite.get("failures") == "1" and suite.get("skipped") == "1"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["verdict"] == "not_steady" and properties["ctk_status"] == "completed"


def test_junit_of_a_passing_run_has_no_failures(tmp_path: Path) -> None:
    suite = ET.fromstring(render_junit(_run(_experiment(tmp_path, method=[])).journal))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "0")


def test_chaoskit_report_renders_a_ctk_journal_again(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from chaoskit.cli import main

    result = _run(_experiment(tmp_path))
    assert result.run_dir is not None and result.journal_path is not None
    (result.run_dir / "report.html").unlink()
    assert main(["report", str(result.journal_path)]) == 1
    assert (result.run_dir / "report.html").exists()
    assert "verdict: deviated" in capsys.readouterr().out
    ctk_own = tmp_path / "journal.json"  # chaos run's own journal: no chaoskit verdict in it
    ctk_own.write_text('{"chaoslib-version": "1.44.0", "status": "completed"}')
    assert main(["report", str(ctk_own)]) == 2
    assert "not a journal of a Chaos Toolkit run by chaoskit" in capsys.readouterr().err
