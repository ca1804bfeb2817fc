"""Run one corpus experiment under the real CTK (``chaos run``) or chaoskit, and read its journal.

Each run gets its own working directory (a copy of ``workdir/``: the files the
experiments' process and python probes look at), its own corpus server, and
an environment that reaches nothing but 127.0.0.1: CTK's version check is off
(``--no-version-check``), its settings file is an empty one in the run
directory (no notifications, no global controls), HOME is the run directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tests.ctk_corpus.server import TOKEN, CorpusServer

CORPUS_DIR = Path(__file__).resolve().parent
REPO = CORPUS_DIR.parents[1]
BIN = Path(sys.executable).parent
RUN_TIMEOUT = 60.0
"""Seconds a single run may take before the harness kills it (each should take a few)."""

Engine = Literal["ctk", "chaoskit"]


def corpus_files() -> list[Path]:
    """The corpus experiments, in name order."""
    return sorted(p for p in CORPUS_DIR.iterdir() if p.suffix in (".json", ".yaml"))


@dataclass(frozen=True)
class Judgement:
    """One hypothesis probe's verdict as a journal records it."""

    name: str
    tolerance_met: bool | None


@dataclass
class Outcome:
    """What one engine made of one experiment, read from its exit code and journal."""

    engine: Engine
    returncode: int
    seconds: float
    status: str | None = None
    deviated: bool | None = None
    before: list[Judgement] | None = None
    after: list[Judgement] | None = None
    during: list[list[Judgement]] = field(default_factory=list)
    run: list[tuple[str, str | None]] = field(default_factory=list)
    rollbacks: list[tuple[str, str | None]] = field(default_factory=list)
    outputs: list[tuple[str, object]] = field(default_factory=list)
    """Each hypothesis probe's and method activity's output in short: the ``status`` of an
    http or process output, a python function's scalar return value (headers, bodies and
    timings are the run's own)."""
    files: frozenset[str] = frozenset()
    """Files in the working directory after the run (markers such as ``rolled-back.txt``)."""
    output: str = ""

    def summary(self) -> str:
        if self.status is None:
            return f"no journal (exit {self.returncode})"
        dev = " deviated" if self.deviated else ""
        return f"{self.status}{dev} (exit {self.returncode})"


def _judgements(state: Any) -> list[Judgement] | None:
    if not isinstance(state, dict):
        return None
    return [Judgement(_activity_name(p), p.get("tolerance_met")) for p in state.get("probes", [])]


def _short(output: Any) -> object:
    if isinstance(output, dict):
        return ("status", output.get("status")) if "status" in output else ("mapping",
                                                                           sorted(output))
    if output is None or isinstance(output, str | int | float | bool):
        return output
    return type(output).__name__


def _outputs(journal: dict[str, Any]) -> list[tuple[str, object]]:
    states = journal.get("steady_states") or {}
    runs = [r for key in ("before", "after") if isinstance(states.get(key), dict)
            for r in states[key].get("probes", [])]
    runs += journal.get("run") or []
    return sorted(((_activity_name(r), _short(r.get("output"))) for r in runs), key=str)


def _activity_name(run: dict[str, Any]) -> str:
    return str((run.get("activity") or {}).get("name", "?"))


def read_journal(engine: Engine, path: Path, outcome: Outcome) -> None:
    """Fill ``outcome`` from a CTK-shaped journal.json."""
    journal = json.loads(path.read_text())
    outcome.status = journal.get("status")
    outcome.deviated = journal.get("deviated")
    states = journal.get("steady_states") or {}
    outcome.before = _judgements(states.get("before"))
    outcome.after = _judgements(states.get("after"))
    outcome.during = [j for j in map(_judgements, states.get("during") or []) if j is not None]
    outcome.run = [(_activity_name(r), r.get("status")) for r in journal.get("run") or []]
    outcome.rollbacks = [(_activity_name(r), r.get("status"))
                         for r in journal.get("rollbacks") or []]
    outcome.outputs = _outputs(journal)


def prepare(run_dir: Path) -> Path:
    """A fresh working directory holding a copy of ``workdir/``."""
    work = run_dir / "work"
    shutil.copytree(CORPUS_DIR / "workdir", work)
    return work


def environment(run_dir: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHAOSTOOLKIT", "CTK_"))}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(REPO),
        "HOME": str(run_dir),
        "CHAOSKIT_STATE_DIR": str(run_dir / "state"),
        "CTK_CORPUS_URL": url,
        "CTK_CORPUS_TOKEN": TOKEN,
        "CTK_CORPUS_EXPECTED_STATUS": "200",
        "NO_COLOR": "1",
    })
    return env


def command(engine: Engine, experiment: Path, run_dir: Path) -> list[str]:
    if engine == "ctk":
        settings = run_dir / "settings.yaml"
        settings.write_text("{}\n")
        return [str(BIN / "chaos"), "--no-version-check", "--no-log-file",
                "--settings", str(settings), "run", "--journal-path",
                str(run_dir / "journal.json"), "--no-verify-tls", str(experiment)]
    return [str(BIN / "chaoskit"), "run", str(experiment), "--reports", str(run_dir / "reports")]


def journal_path(engine: Engine, run_dir: Path) -> Path | None:
    if engine == "ctk":
        path = run_dir / "journal.json"
        return path if path.exists() else None
    found = sorted((run_dir / "reports").glob("*/journal.json"))
    return found[-1] if found else None


def run(engine: Engine, experiment: Path, run_dir: Path) -> Outcome:
    """Run ``experiment`` under ``engine`` against a fresh corpus server; never raises."""
    run_dir.mkdir(parents=True, exist_ok=True)
    work = prepare(run_dir)
    with CorpusServer() as server:
        started = time.monotonic()
        try:
            done = subprocess.run(command(engine, experiment, run_dir), cwd=work,
                                  env=environment(run_dir, server.url), stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as expired:
            code, output = -1, f"killed after {RUN_TIMEOUT} s: {expired.output!r}"
        seconds = time.monotonic() - started
    outcome = Outcome(engine, code, seconds, output=output,
                      files=frozenset(p.name for p in work.iterdir()))
    path = journal_path(engine, run_dir)
    if path is not None:
        read_journal(engine, path, outcome)
    return outcome
