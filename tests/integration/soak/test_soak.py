"""The interrupted-run soak (``benchmarks/soak.py``): a small seeded soak leaves nothing,
and its checks do find what a run leaves (planted here with real processes)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import soak
from tests.integration.runner.conftest import ROOT, processes_mentioning

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SMALL = ["experiments/netflix_latency.yaml", "experiments/netflix_dependency_loss.yaml",
         "experiments/stripe_retries.yaml"]
"""Experiments on the small topology: quick to start, so three runs fit well in 5 minutes."""


def test_a_small_seeded_soak_leaves_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.soak", "3", "--seed", "5",
         "--phases", "setup", "warmup", "baseline", "inject", "observe",
         "--experiments", *SMALL, "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=280)
    output = done.stdout + done.stderr

    assert done.returncode == 0, output
    assert "leftovers: processes 0, proxy servers 0, listeners 0, containers 0, " \
           "state files 0, rollback failed 0" in output, output
    assert "tracebacks: 0" in output and "hung after SIGINT/SIGTERM: 0" in output, output
    for name in ("SIGINT", "SIGTERM", "SIGKILL"):  # one run each
        assert re.search(rf"^{name}\s.*\s1$", output, re.MULTILINE), output
    ports = re.search(r"listening ports checked: (\d+)", output)
    assert ports and int(ports.group(1)) > 0, "the listener check watched no port"
    assert not processes_mentioning(str(tmp_path))


def test_the_checks_find_what_a_run_left(tmp_path: Path) -> None:
    """A real embedded proxy server, a marked process and a state file, as a crashed run
    without rollback would leave them: each is found, by kind."""
    folder = tmp_path / "run-001"
    (folder / "state").mkdir(parents=True)
    (folder / "reports" / "20260101-000000-abcd-planted").mkdir(parents=True)
    (folder / "state" / "20260101-000000-abcd-planted.json").write_text(
        json.dumps({"run_id": "20260101-000000-abcd-planted", "runner_pid": 1}))
    env = {**os.environ, "CHAOSKIT_STATE_DIR": str(folder / "state")}
    proxy = subprocess.Popen([sys.executable, "-m", "chaoskit", "proxy", "serve", "--port", "0"],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    # Found by its marker alone: nothing of the folder in its command line or environment.
    marked = subprocess.Popen(["sleep", "120"], env={
        "PATH": os.environ["PATH"], "CHAOSKIT_RUN": "20260101-000000-abcd-planted"})
    try:
        assert proxy.stdout is not None
        proxy.stdout.readline()  # its ready line: it listens now
        ports = soak.listeners_of(soak.run_processes(folder))
        assert ports, "the proxy server's API port was not seen"

        found = soak.find_leftovers(folder, ports, soak._now_ticks(), "local")

        assert [line.split(":")[0] for line in found["proxy servers"]] == [f"pid {proxy.pid}"]
        assert [line.split(":")[0] for line in found["processes"]] == [f"pid {marked.pid}"]
        assert len(found["listeners"]) == len(ports)
        assert found["state files"] == [str(folder / "state" / "20260101-000000-abcd-planted.json")]
        assert found["containers"] == []
    finally:
        for process in (proxy, marked):
            process.send_signal(signal.SIGKILL)
            process.wait()
    assert not any(soak.find_leftovers(folder, ports, soak._now_ticks(), "local")[kind]
                   for kind in ("processes", "proxy servers", "listeners"))
