"""The pytest plugin as a user meets it: a test file outside chaoskit, run by pytest.

Each test writes a user's resilience module into a temporary folder and runs
pytest on it in a subprocess (its own state and reports folders), then checks
the outcome, the failure message, and that no process of the run survived.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.runner.conftest import ROOT, assert_nothing_left, processes_mentioning

pytestmark = pytest.mark.integration

HEADER = '''
import pytest

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def system(chaos_system):
    return chaos_system("targets/netflix_small.yaml")
'''


@dataclass
class Session:
    code: int
    output: str
    tmp: Path

    def journals(self) -> list[dict[str, object]]:
        return [json.loads(p.read_text()) for p in sorted(self.tmp.glob("reports/*/journal.json"))]


def user_module(tmp: Path, body: str) -> Path:
    (tmp / "pytest.ini").write_text("[pytest]\n")
    path = tmp / "test_resilience.py"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def pytest_command(tmp: Path, module: Path) -> list[str]:
    # Run from the repository (relative paths as a user writes them) with the
    # temporary folder as rootdir, so chaoskit's own pytest settings stay out.
    return [sys.executable, "-m", "pytest", "-c", str(tmp / "pytest.ini"), "--rootdir", str(tmp),
            "-p", "no:cacheprovider", "-p", "no:randomly", str(module),
            "--chaos-reports", str(tmp / "reports"), "-v"]


def environment(tmp: Path) -> dict[str, str]:
    return {**os.environ, "CHAOSKIT_STATE_DIR": str(tmp / "state")}


def run_pytest(tmp: Path, body: str, timeout: float = 180) -> Session:
    module = user_module(tmp, body)
    done = subprocess.run(pytest_command(tmp, module), cwd=ROOT, env=environment(tmp),
                          capture_output=True, text=True, timeout=timeout)
    return Session(done.returncode, done.stdout + done.stderr, tmp)


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for line in processes_mentioning(str(tmp_path)):
        # A failed assertion must not leak a topology into the next test.
        os.kill(int(line.split(":")[0]), signal.SIGKILL)


def test_a_passing_and_a_failing_resilience_test_and_nothing_left(tmp: Path) -> None:
    session = run_pytest(tmp, '''
        def test_survives_losing_a_zone(system):
            with system.load("targets/load/streaming.py", users=10) as load:
                load.wait(3)
                with system.zone_outage("us-east-1a") as outage:
                    assert outage.targets
                    load.wait(5)
                system.assert_steady(load, success_ratio=0.99, p99_ms=500, window=5)


        def test_survives_losing_every_zone(system):
            with system.load("targets/load/streaming.py", users=10) as load:
                load.wait(2)
                with system.zone_outage("us-east-1a"), system.zone_outage("us-east-1b"), \\
                        system.zone_outage("us-east-1c"):
                    load.wait(3)
                    system.assert_steady(load, success_ratio=0.99, window=3)
    ''')
    assert session.code == 1, session.output
    assert "test_survives_losing_a_zone PASSED" in session.output
    assert "test_survives_losing_every_zone FAILED" in session.output
    # The failure is readable: which probe, value against tolerance, window, the faults.
    assert "steady state did not hold over the last 3s while zone_outage us-east-1a" in (
        session.output)
    assert re.search(r"✗ load\.success_ratio over 3 s: \d+\.\d\d%, tolerance ≥ 99% "
                     r"\(\d+ requests, \d+ failed, over 3s\)", session.output), session.output
    assert "SteadyStateViolation" in session.output
    assert_nothing_left(tmp)
    [journal] = session.journals()
    judgement = journal["judgement"]
    assert isinstance(judgement, dict) and judgement["verdict"] == "deviated"
    events = journal["history"]["events"]  # type: ignore[index]
    steps = [(e["label"], e["step"]) for e in events if e["type"] == "fault"]
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):
        assert (f"zone_outage {zone} (terminate)", "revert_effective") in steps
    notes = [e["message"] for e in events if e["type"] == "note"]
    assert any("test failed" in n and "every_zone" in n for n in notes)
    report = next(tmp.glob("reports/*/report.html")).read_text()
    assert "<script src" not in report and "Deviated" in report


def test_latency_through_the_links_with_a_generic_fault_spec(tmp: Path) -> None:
    session = run_pytest(tmp, '''
        @pytest.fixture(scope="module")
        def linked(chaos_system):
            return chaos_system("targets/netflix_small.yaml", links=True)


        def test_survives_a_slow_zone(linked):
            with linked.load("targets/load/streaming.py", users=10) as load:
                load.wait(2)
                slow = {"fault": "latency", "service": "playback", "zone": "us-east-1a",
                        "latency": 2000}
                with linked.inject(slow) as fault:
                    assert fault.targets
                    load.wait(5)
                    check = linked.assert_steady(load, success_ratio=0.99, p99_ms=1000, window=5)
                    assert "while latency" in check.context
                    print("P99", load.stats(window=5).p99_ms)
    ''')
    assert session.code == 0, session.output
    assert_nothing_left(tmp)


def test_a_crash_inside_a_fault_block_still_reverts(tmp: Path) -> None:
    session = run_pytest(tmp, '''
        from chaoskit.platform.base import InstanceState


        def test_crashes_while_playback_is_paused(system):
            with system.pause(service="playback", zone="us-east-1a"):
                raise RuntimeError("the test itself crashed")


        def test_forgets_to_revert(system):
            system.pause(service="playback", zone="us-east-1b").inject()


        def test_everything_is_running_again(system):
            states = {i.instance.id: i.state for i in system.instances()}
            assert set(states.values()) == {InstanceState.UP}, states
    ''')
    assert session.code == 1, session.output
    assert "RuntimeError: the test itself crashed" in session.output
    assert "test_forgets_to_revert PASSED" in session.output
    assert "test_everything_is_running_again PASSED" in session.output
    assert_nothing_left(tmp)


HANGING = '''
    import time


    def test_hangs_inside_a_fault(system):
        with system.load("targets/load/streaming.py", users=5):
            with system.pause(service="playback", zone="us-east-1a"):
                print("FAULT IN EFFECT", flush=True)
                time.sleep(120)
'''


def start_hanging(tmp: Path) -> subprocess.Popen[str]:
    """pytest on a test that sits inside a fault; returns once the fault is in effect."""
    module = user_module(tmp, HANGING)
    process = subprocess.Popen([*pytest_command(tmp, module), "-s"], cwd=ROOT,
                               env=environment(tmp), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "FAULT IN EFFECT" in line:
            break
    else:
        raise AssertionError("".join(seen))
    assert processes_mentioning(str(tmp)), "the system should be running"
    return process


def test_sigterm_to_pytest_runs_the_finalizers(tmp: Path) -> None:
    process = start_hanging(tmp)
    try:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert "KeyboardInterrupt" in output or "SIGTERM" in output, output
    assert_nothing_left(tmp)


def test_a_killed_pytest_is_cleaned_up_by_rollback(tmp: Path) -> None:
    process = start_hanging(tmp)
    try:
        process.kill()  # no finalizer runs: only the state file knows what is left
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    done = subprocess.run([sys.executable, "-m", "chaoskit", "rollback"], cwd=ROOT,
                          env=environment(tmp), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "killed instance playback-us-east-1a" in done.stdout
    # Locust may already have gone with its reader (a closed pipe); the instances had not.
    assert_nothing_left(tmp)
