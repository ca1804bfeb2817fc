"""report.html: verdict first, every probe and fault present, self-contained, escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from chaoskit.model.history import FaultEvent, GuardrailBreached, History, RunError
from chaoskit.model.verdict import Judgement, Verdict
from chaoskit.report.html import render_html
from chaoskit.report.journal import Journal
from chaoskit.report.style import VERDICT_COLORS
from tests.unit.report.fixtures import FAULT_LABEL, gorilla_journal


class _Tags(HTMLParser):
    """Collects start tags and their attributes, to check structure without regexes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_verdict_comes_first_and_big() -> None:
    html = render_html(gorilla_journal())
    body = html[html.index("<body"):]
    assert body.index("Passed") < body.index("Timeline")
    assert '<p class="verdict-word">✓ Passed</p>' in html
    assert "#1a7f37" in html  # the passed colour
    assert "time to recover: 3.2s" in html
    assert "3.2 s" in html


def test_every_probe_fault_and_phase_is_shown() -> None:
    html = render_html(gorilla_journal())
    for name in ("play starts succeed", "p99 stays low", "guardrail load.success_ratio"):
        assert name in html
    assert FAULT_LABEL in html
    assert "playback-us-east-1a-1" in html
    for phase in ("warmup", "baseline", "inject", "observe", "revert", "recover", "verify"):
        assert f">{phase}</text>" in html


def test_the_chart_is_drawn_server_side() -> None:
    tags = _tags(render_html(gorilla_journal()))
    paths = [a for t, a in tags if t == "path" and "series" in (a.get("class") or "")]
    assert len(paths) == 3
    # 60 samples → 60 points per line (the success and p99 lines have no gaps).
    assert all(len(re.findall(r"[ML]", a["d"] or "")) == 60 for a in paths)
    windows = [a for t, a in tags if t == "rect" and a.get("class") == "fault-window"]
    assert len(windows) == 1
    readings = [a for t, a in tags if t == "circle"]
    assert len(readings) == 6  # 2 probes x baseline/during/verify
    assert all("ok" in (a.get("class") or "") for a in readings)


def test_the_page_is_self_contained() -> None:
    html = render_html(gorilla_journal())
    assert "http://" not in html and "https://" not in html
    for tag, attrs in _tags(html):
        assert not (tag == "script" and "src" in attrs), "external script"
        assert tag != "link", "external stylesheet"
        assert tag != "img", "external image"
    assert "@import" not in html and "url(" not in html


def test_user_text_is_escaped() -> None:
    nasty = '<script>alert("pwned")</script> & co'
    journal = gorilla_journal(title=nasty)
    html = render_html(journal)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; co" in html
    scripts = [a for t, a in _tags(html) if t == "script"]
    assert len(scripts) == 2  # the series data and the hover script, nothing injected


def test_a_failing_run_shows_what_failed() -> None:
    base = gorilla_journal()
    events = list(base.history.events)
    events.append(GuardrailBreached(t=base.started + 20, name="guardrail load.success_ratio",
                                    value=0.42, tolerance=">= 0.8"))
    events.append(FaultEvent(t=base.started + 38, fault="f0", kind="zone_outage",
                             step="revert_failed", label=FAULT_LABEL, detail="<no such pid>"))
    events.append(RunError(t=base.started + 39, phase=None, message="platform went away"))
    journal = Journal.model_validate({
        **base.model_dump(), "history": History(events=events).model_dump(),
        "judgement": Judgement(verdict=Verdict.ABORTED, reasons=("guardrail breached",)),
    })
    html = render_html(journal)
    assert '<p class="verdict-word">■ Aborted</p>' in html
    assert "#a40e26" in html
    assert "breached at +20.0 s" in html
    assert "revert failed: &lt;no such pid&gt;" in html
    assert "platform went away" in html


def test_a_run_without_load_says_so() -> None:
    base = gorilla_journal()
    journal = base.model_copy(update={"history": History(events=[
        e for e in base.history.events if e.type != "load"])})
    html = render_html(journal)
    assert "No load samples were recorded" in html


@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_verdict_renders_with_its_colour(verdict: Verdict) -> None:
    journal = gorilla_journal().model_copy(
        update={"judgement": Judgement(verdict=verdict, reasons=("because",))})
    html = render_html(journal)
    assert VERDICT_COLORS[verdict.value] in html
    assert f'data-verdict="{verdict.value}"' in html


def test_an_empty_history_still_renders() -> None:
    base = gorilla_journal()
    journal = base.model_copy(update={"history": History(), "ended": base.started,
                                      "time_to_recover": None})
    html = render_html(journal)
    assert "No load samples were recorded" in html
    assert "No fault was injected" in html
    assert "Recovery was not measured" in html
    assert html.count("not run") == 7  # 2 probes x 3 phases, and the guardrail
