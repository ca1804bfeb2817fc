"""The monkey as a user runs it (the CLI in a subprocess) on targets/netflix_small.yaml.

Compressed time (``--time-scale 4320``: a work day's 9:00-15:00 window passes in 5 s, a
day in 20 s) from a Monday 08:59 in Los Angeles: about two minutes make several kills of
playback instances under Locust load, a zone taken down by hand (its playback instance
SIGSTOPped) makes the outage check skip kills and log why, SIGTERM stops everything, and
a SIGKILLed monkey leaves what ``chaoskit rollback`` removes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runner.conftest import assert_nothing_left, processes_mentioning

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[3]
MONKEY = ROOT / "experiments" / "monkey_small.yaml"
START = "2026-12-07T08:59:00-08:00"  # a Monday, a minute before the window opens
SCALE = "4320"


class MonkeyProcess:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {**os.environ, "CHAOSKIT_STATE_DIR": str(tmp / "state")}
        self.log = tmp / "kills.sqlite3"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chaoskit", "monkey", str(MONKEY), "--time-scale", SCALE,
             "--start", START, "--log", str(self.log), "--reports", str(tmp / "reports")],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_for(self, needle: str, *, count: int = 1, timeout: float = 90) -> None:
        """Read output until ``count`` lines (in all) contain ``needle``."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while sum(needle in line for line in self.lines) < count:
            assert time.monotonic() < deadline, f"never saw {needle!r} x{count}:\n" + \
                "".join(self.lines)
            line = self.process.stdout.readline()
            assert line, "the monkey exited:\n" + "".join(self.lines)
            self.lines.append(line)

    def finish(self, timeout: float = 90) -> int:
        output, _ = self.process.communicate(timeout=timeout)
        self.lines.append(output)
        return self.process.returncode

    def decisions(self) -> list[dict[str, Any]]:
        out = subprocess.run([sys.executable, "-m", "chaoskit", "monkey", "log", "--log",
                              str(self.log), "--json"], cwd=ROOT, env=self.env, text=True,
                             capture_output=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    def journal(self) -> dict[str, Any]:
        journals = sorted((self.tmp / "reports").glob("*/journal.json"))
        assert journals, "no journal written"
        return json.loads(journals[-1].read_text())  # type: ignore[no-any-return]


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for pid_text in processes_mentioning(str(tmp_path)):
        with contextlib.suppress(ProcessLookupError):  # a failed test leaks nothing
            os.kill(int(pid_text.split(":")[0]), signal.SIGKILL)


def instance_pids(tmp: Path, instance: str) -> list[int]:
    """The processes of one instance of the monkey's run under ``tmp``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if f"CHAOSKIT_INSTANCE={instance}".encode() in environ.split(b"\0") and \
                str(tmp).encode() in environ + cmdline:
            found.append(int(proc.name))
    return found


def test_kills_on_schedule_skip_during_an_outage_and_stop_on_sigterm(tmp: Path) -> None:
    monkey = MonkeyProcess(tmp)
    monkey.wait_for("started at", timeout=90)
    monkey.wait_for(" killed", count=4, timeout=75)
    down_at = time.time()
    stopped = instance_pids(tmp, "playback-us-east-1b-0")
    assert stopped
    for pid in stopped:  # zone us-east-1b is down: its one instance hangs
        os.kill(pid, signal.SIGSTOP)
    try:
        monkey.wait_for("skipped (outage)", timeout=60)
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    up_at = time.time()
    monkey.wait_for(" killed", count=6, timeout=75)  # the zone is back: kills resume
    monkey.process.send_signal(signal.SIGTERM)
    assert monkey.finish() == 130, "".join(monkey.lines)
    assert_nothing_left(tmp)

    decisions = monkey.decisions()
    before = [d for d in decisions if d["decision"] == "killed" or d["reason"] == "outage"]
    kills = [d for d in decisions if d["decision"] == "killed"]
    outages = [d for d in decisions if d["reason"] == "outage"]
    assert len(kills) >= 6, decisions
    assert outages and kills[-1]["planned"] > outages[-1]["planned"]  # resumed after it
    assert all(k["target"].startswith("playback-") for k in kills)
    assert outages and all("every instance up" in d["detail"] for d in outages)
    assert before.index(outages[0]) >= 4  # no outage skip before the zone went down
    exceptions = [d for d in decisions if d["reason"] == "exception"]
    assert all(d["group"].split("@")[0] in ("gateway", "payments", "ratings", "recommendations")
               for d in exceptions)

    # The background load's steady state held at every check before the zone went down.
    readings = [e for e in monkey.journal()["history"]["events"]
                if e["type"] == "probe" and e["name"] == "play starts succeed"]
    held = [r for r in readings if r["t"] < down_at]
    assert len(held) >= 4 and all(r["ok"] for r in held), held
    ratios = [r["value"] for r in held]
    assert len(list((tmp / "reports").glob("*/daily/*/report.html"))) >= 3  # one a day
    after = [r for r in readings if r["t"] > up_at + 10]
    assert all(r["ok"] for r in after), after  # steady again once the zone is back
    print(f"kills {len(kills)}: " + ", ".join(f"{k['planned'][5:16]} {k['target']}"
                                              for k in kills))
    print(f"outage skips {len(outages)}: {outages[0]['detail']}")
    print(f"play success ratio before each kill: min {min(ratios):.4f} over {len(ratios)}")


def test_rollback_finds_what_a_sigkilled_monkey_left(tmp: Path) -> None:
    monkey = MonkeyProcess(tmp)
    monkey.wait_for("started at", timeout=90)
    assert instance_pids(tmp, "gateway-global-0")
    monkey.process.kill()
    monkey.finish()
    assert instance_pids(tmp, "gateway-global-0"), "instances outlive a SIGKILLed monkey"
    rolled = subprocess.run([sys.executable, "-m", "chaoskit", "rollback"], cwd=ROOT,
                            env=monkey.env, text=True, capture_output=True, timeout=60)
    assert "cleaning up" in rolled.stdout, rolled.stdout + rolled.stderr
    assert_nothing_left(tmp)
