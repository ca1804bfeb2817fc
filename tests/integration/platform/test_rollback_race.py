"""A runner SIGKILLed at any moment of setup leaves nothing that ``chaoskit rollback`` misses.

The hard moment is the one between a child's fork and the write of its pid to the
state file (issue 9: a gateway spawned 4 s into setup was missed). The test makes
that moment certain instead of hoping a timer hits it: it watches the runner's
children, and the instant a new one appears it freezes the runner (SIGSTOP) and
reads the state file. If the child is not in it yet, the runner is SIGKILLed right
there; otherwise it thaws the runner and waits for the next spawn. The other cases
kill at fixed offsets after the first instance process appears.

Leftovers are looked for independently of chaoskit's own marker: any process whose
command line or environment mentions the test's folder (``processes_mentioning``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.runner.conftest import (
    ROOT,
    Chaoskit,
    assert_nothing_left,
    processes_mentioning,
    variant,
)
from tests.integration.runner.conftest import chaoskit as chaoskit_fixture

pytestmark = pytest.mark.integration

# A link fault, so setup spawns the proxy server too, then seven instances and Locust.
METHOD = "  - {fault: latency, service: ratings, latency: 100, duration: 30s}\n"
SETUP_TIMEOUT = 90.0


def children(pid: int) -> set[int]:
    """The direct children of ``pid``, from every thread (any may fork)."""
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def recorded(state: Path) -> tuple[set[int], set[int]]:
    """(runner pids, process pids) named by the state files in ``state``."""
    runners: set[int] = set()
    pids: set[int] = set()
    for path in state.glob("*.json") if state.is_dir() else []:
        data = json.loads(path.read_text())
        runners.add(data["runner_pid"])
        pids.update(p["pid"] for p in data["processes"])
    return runners, pids


def stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "tT"
    except OSError:
        return False


def freeze(pid: int) -> None:
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while not stopped(pid):
        assert time.monotonic() < deadline, f"runner {pid} did not stop"
        time.sleep(0.001)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def exec_done(child: int, runner: int) -> str:
    """The child's command line once it has exec'd (until then it is a copy of the runner)."""
    deadline = time.monotonic() + 5
    while (line := cmdline(child)) == cmdline(runner) and time.monotonic() < deadline:
        time.sleep(0.001)
    return line


def kill_between_spawn_and_record(runner: subprocess.Popen[str], state: Path) -> int:
    """SIGKILL the runner while an instance it spawned is missing from its state file.

    Returns that instance's pid. An instance, not the proxy server or Locust: those
    write to a pipe the dead runner no longer reads and may die of it by themselves,
    which would let the test pass without rollback finding anything. Fails if the
    state file did not exist (with the runner's pid) at the first spawn, or if setup
    ended without such a moment.
    """
    seen: set[int] = set()
    first = True
    deadline = time.monotonic() + SETUP_TIMEOUT
    while time.monotonic() < deadline and runner.poll() is None:
        new = children(runner.pid) - seen
        if not new:
            continue
        freeze(runner.pid)
        runners, pids = recorded(state)
        if first:
            assert runner.pid in runners, (
                "the state file must name the runner before its first spawn; found "
                f"{sorted(state.glob('*')) if state.is_dir() else 'no state folder'}")
            first = False
        missing = [pid for pid in sorted(new - pids)
                   if " -m targets." in exec_done(pid, runner.pid)]
        if missing:
            runner.kill()
            os.kill(runner.pid, signal.SIGCONT)  # a stopped process dies of SIGKILL too
            return missing[0]
        seen |= new
        os.kill(runner.pid, signal.SIGCONT)
    raise AssertionError(f"setup spawned {len(seen)} children, each instance recorded before "
                         "it was seen: no moment between spawn and record was caught")


def first_instance(tmp: Path, runner: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + SETUP_TIMEOUT
    while not any("targets." in line for line in processes_mentioning(str(tmp))):
        assert runner.poll() is None, "the runner exited before starting an instance"
        assert time.monotonic() < deadline, "no instance started"
        time.sleep(0.01)


chaoskit = chaoskit_fixture  # the runner tests' fixture: own state dir, nothing leaks


@pytest.mark.parametrize("moment", ["spawned-unrecorded", "0.0s", "1.0s", "3.0s"])
def test_rollback_finds_everything_whatever_the_moment_of_the_kill(
        chaoskit: Chaoskit, moment: str) -> None:
    """Fails without the run marker: the child caught unrecorded outlives rollback."""
    experiment = chaoskit.experiment(variant(method=METHOD))
    runner = chaoskit.start("run", str(experiment))
    try:
        if moment == "spawned-unrecorded":
            orphan = kill_between_spawn_and_record(runner, chaoskit.tmp / "state")
        else:
            first_instance(chaoskit.tmp, runner)
            time.sleep(float(moment.removesuffix("s")))
            runner.kill()
        runner.wait(timeout=10)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert runner.returncode == -signal.SIGKILL, "the runner finished before it was killed"
    if moment == "spawned-unrecorded":
        assert alive(orphan), "the unrecorded instance should outlive the runner"

    done = subprocess.run([sys.executable, "-m", "chaoskit", "rollback"], cwd=ROOT,
                          env=chaoskit.env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert_nothing_left(chaoskit.tmp)


async def test_rollback_kills_marked_processes_the_state_file_never_listed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child spawned as the runner died, and a grandchild that left its process group:
    neither is in the file, both carry the marker."""
    from chaoskit.state import RunState, marked_processes, process_start_time, rollback

    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    me = process_start_time(os.getpid())
    assert me is not None
    # Our own pid with another start time: a runner that is dead.
    state = RunState(run_id=f"orphans-{os.getpid()}", runner_start=me + 1)
    script = "setsid sleep 120 & exec sleep 120"
    child = subprocess.Popen(["sh", "-c", script], env=state.spawn_env(),
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(marked_processes(state.run_id)) < 2:
            assert time.monotonic() < deadline, marked_processes(state.run_id)
            time.sleep(0.01)

        lines = await rollback()

        assert sum("found by CHAOSKIT_RUN" in line for line in lines) == 2, lines
        assert marked_processes(state.run_id) == []
        assert not state.path.exists()
    finally:
        child.kill()
        child.wait()
