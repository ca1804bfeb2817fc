"""GameDays through the CLI, as a team runs one: real runs, one report, nothing left behind.

Two shortened experiment variants on the small topology keep this under two
minutes; the stop policy is shown with a first step that is not steady (it
ends at its baseline), so the second never starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.runner.conftest import ROOT, assert_nothing_left, variant

pytestmark = pytest.mark.integration

MONKEY = "  - {fault: instance_kill, service: playback, count: 1, duration: 5s}\n"
GORILLA = "  - {fault: zone_outage, zone: us-east-1a, mode: terminate, duration: 5s}\n"
UNREACHABLE = (
    "  - {name: impossible throughput, probe: load.rps, window: 3s,"
    " tolerance: {min: 1000000}}\n"
)


def gameday(tmp: Path, steps: str, on_failure: str = "stop") -> Path:
    (tmp / "monkey.yaml").write_text(variant(method=MONKEY))
    (tmp / "gorilla.yaml").write_text(variant(method=GORILLA))
    (tmp / "not_steady.yaml").write_text(variant(method=GORILLA, steady=UNREACHABLE))
    path = tmp / "gameday.yaml"
    path.write_text(f"title: Short GameDay\non_failure: {on_failure}\nsteps:\n{steps}")
    return path


def run_cli(tmp: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaoskit", "gameday", str(path), "--reports",
         str(tmp / "reports"), "--quiet"],
        cwd=ROOT, env={**os.environ, "CHAOSKIT_STATE_DIR": str(tmp / "state")},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240)


def only_folder(tmp: Path) -> Path:
    [folder] = [p for p in (tmp / "reports").iterdir() if p.is_dir()]
    return folder


def test_a_gameday_runs_to_the_end_and_links_every_run(tmp_path: Path) -> None:
    path = gameday(tmp_path, (
        "  - {experiment: monkey.yaml, name: Chaos Monkey}\n"
        "  - pause: 1s\n"
        "  - checkpoint: |\n"
        "      Monkey done. Check the playback dashboard.\n"
        "      Next: a whole zone goes.\n"
        "  - {experiment: gorilla.yaml, name: Chaos Gorilla}\n"))
    done = run_cli(tmp_path, path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "    Monkey done. Check the playback dashboard." in output
    assert "(not waiting: stdin is not a terminal, or --yes)" in output
    folder = only_folder(tmp_path)
    summary = json.loads((folder / "gameday.json").read_text())
    assert [s["verdict"] for s in summary["steps"]] == ["passed", "done", "done", "passed"]
    html = (folder / "report.html").read_text()
    for step in (summary["steps"][0], summary["steps"][3]):
        assert step["time_to_recover"] is not None
        report = folder / step["run_dir"] / "report.html"
        assert report.is_file()
        assert f'href="{step["run_dir"]}/report.html"' in html
        journal = json.loads((folder / step["run_dir"] / "journal.json").read_text())
        assert journal["judgement"]["verdict"] == "passed"
    assert "2 of 2 experiments passed" in html and "<script src" not in html
    assert_nothing_left(tmp_path)


def test_the_stop_policy_stops_after_a_failing_step(tmp_path: Path) -> None:
    path = gameday(tmp_path, (
        "  - {experiment: not_steady.yaml, name: Not steady}\n"
        "  - {experiment: monkey.yaml, name: Never runs}\n"))
    done = run_cli(tmp_path, path)
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    assert "stopping: step 1 not_steady and the policy is on_failure: stop" in output
    folder = only_folder(tmp_path)
    summary = json.loads((folder / "gameday.json").read_text())
    assert [s["verdict"] for s in summary["steps"]] == ["not_steady", "skipped"]
    assert summary["stopped_after"] == 0
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 1, "only one run folder"
    assert_nothing_left(tmp_path)
