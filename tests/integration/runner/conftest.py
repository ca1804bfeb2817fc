"""Running chaoskit as a user would: the CLI in a subprocess, on the bundled targets."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
SMALL = ROOT / "targets" / "netflix_small.yaml"
STREAMING = ROOT / "targets" / "load" / "streaming.py"


@dataclass
class Finished:
    code: int
    output: str
    run_dir: Path | None

    @property
    def journal(self) -> dict[str, Any]:
        assert self.run_dir is not None, self.output
        return json.loads((self.run_dir / "journal.json").read_text())  # type: ignore[no-any-return]

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.journal["history"]["events"] if e["type"] == kind]


class Chaoskit:
    """Runs ``chaoskit`` with its own state dir and reports dir; checks it left nothing."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.reports = tmp / "reports"
        self.env = {**os.environ, "CHAOSKIT_STATE_DIR": str(tmp / "state")}

    def experiment(self, body: str, name: str = "variant.yaml") -> Path:
        path = self.tmp / name
        path.write_text(body)
        return path

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "chaoskit", *args, "--reports", str(self.reports), "--plain"]
            if args[0] == "run" else [sys.executable, "-m", "chaoskit", *args],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def run(self, *args: str, timeout: float = 240) -> Finished:
        process = self.start(*args)
        output = self.finish(process, timeout)
        return Finished(process.returncode, output, self.last_run_dir())

    def finish(self, process: subprocess.Popen[str], timeout: float) -> str:
        """The output of a run that ends within ``timeout``; else a failure that says where
        it was stuck: SIGUSR1 makes ``chaoskit run`` print its threads' stacks and log its
        tasks' to run.log, then SIGTERM reverts and tears down (SIGKILL after 60 s)."""
        try:
            return process.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGUSR1)
            time.sleep(2)
            process.terminate()
        try:
            output = process.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
        logs = sorted(self.reports.glob("*/run.log")) if self.reports.exists() else []
        tasks = logs[-1].read_text()[-20000:] if logs else "(no run.log)"
        raise AssertionError(f"chaoskit did not finish within {timeout:g}s; output:\n{output}"
                             f"\n--- run.log ---\n{tasks}")

    def last_run_dir(self) -> Path | None:
        runs = sorted(self.reports.glob("*/journal.json")) if self.reports.exists() else []
        return runs[-1].parent if runs else None

    def assert_nothing_left(self) -> None:
        assert_nothing_left(self.tmp)


def assert_nothing_left(tmp: Path) -> None:
    """No process of any run under ``tmp`` survives, and the runs recorded their state in
    ``tmp/state`` (the folder exists: only a write creates it) and left no state file."""
    deadline = time.monotonic() + 5
    while (left := processes_mentioning(str(tmp))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"left running: {left}"
    state = tmp / "state"
    assert state.is_dir(), f"no run recorded its state in {state}"
    assert not list(state.glob("*.json")), f"a state file was left behind in {state}"


def processes_mentioning(text: str) -> list[str]:
    """Processes whose command line or environment mentions ``text`` (a run's folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (text in cmdline or text in environ):
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float = 90) -> str:
    """Read the process's output until a line contains ``needle``; return what was read."""
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"never saw {needle!r}; output:\n{''.join(seen)}")


@pytest.fixture
def chaoskit(tmp_path: Path) -> Iterator[Chaoskit]:
    tool = Chaoskit(tmp_path)
    yield tool
    for pid_text in processes_mentioning(str(tmp_path)):
        pid = int(pid_text.split(":")[0])
        # A failed test must not leak processes into the next one.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def variant(*, method: str, guardrails: str = "[]", steady: str | None = None,
            settings: str = "{seed: 7, warmup: 2s, recover_within: 15s}") -> str:
    """A shortened Gorilla-style experiment on the small topology."""
    steady = steady or (
        "  - {name: play starts succeed, probe: load.success_ratio, window: 5s,"
        " tolerance: {min: 0.99}}\n"
        "  - {name: p99 stays low, probe: load.p99_ms, window: 5s, tolerance: {max: 500}}\n"
    )
    return (
        f"title: variant\ntopology: {SMALL}\n"
        f"load: {{locustfile: {STREAMING}, users: 10, spawn_rate: 10}}\n"
        f"steady_state:\n{steady}method:\n{method}guardrails: {guardrails}\n"
        f"settings: {settings}\n"
    )
