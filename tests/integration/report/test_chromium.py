"""The report as a person sees it: headless Chromium opens report.html offline and draws it.

Leaves a screenshot in ``reports/artifacts/`` (git-ignored) to look at. Skips
with a reason when Chromium is absent; CI installs Debian's ``chromium``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chaoskit.report import write_reports
from tests.unit.report.fixtures import deviated_journal, gorilla_journal

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "reports" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)"),
]


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", f"--user-data-dir={profile}",
        # Any attempt to reach the network fails loudly instead of hanging.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module", params=["gorilla", "deviated"])
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp(request.param)
    journal = gorilla_journal() if request.param == "gorilla" else deviated_journal()
    write_reports(run_dir, journal)
    return run_dir / "report.html"


def _console_lines(stderr: str) -> list[str]:
    # Chromium logs every console message and uncaught exception as ":CONSOLE"; the
    # report logs nothing, so any such line is a defect.
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_the_page_opens_offline_without_console_errors_and_the_chart_draws(
        report: Path, tmp_path: Path) -> None:
    result = _chromium(tmp_path / "profile", "--dump-dom", report.as_uri() + "#selftest")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _console_lines(result.stderr) == []
    dom = result.stdout
    assert 'data-chart-ready="true"' in dom, "the hover script did not finish"
    # Hovering the middle of the chart reads out that second's numbers.
    hover = re.search(r'data-hover="([^"]*)"', dom)
    assert hover is not None, "the self-test hover did not run"
    assert re.fullmatch(r"\+\d+\.\d s · \d+ rps · \d+\.\d\d% ok · p99 \d+ ms", hover[1]), hover[1]
    series = re.findall(r'<path class="series"[^>]* d="(M[^"]+)"', dom)
    assert len(series) == 3 and all(d.count("L") == 59 for d in series)
    assert 'class="fault-window"' in dom
    assert ("Passed" if "gorilla" in report.parent.name else "Deviated") in dom


def test_screenshot_for_a_person_to_look_at(report: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = report.parent.name.rstrip("0123456789")
    shot = ARTIFACTS / f"report-{name}.png"
    shot.unlink(missing_ok=True)
    result = _chromium(tmp_path / "profile", "--hide-scrollbars", "--window-size=1400,2400",
                       f"--screenshot={shot}", report.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert _console_lines(result.stderr) == []
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kB
    shutil.copy(report, ARTIFACTS / f"report-{name}.html")
