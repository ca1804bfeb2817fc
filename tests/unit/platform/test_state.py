"""The run state file and rollback, without starting any process: the test's own pid
stands in for a live process, and a wrong start time for a recycled pid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaoskit.state import (
    RUN_ENV,
    RunState,
    kill_recorded,
    process_alive,
    process_start_time,
    rollback,
)

ME = os.getpid()


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path))
    return tmp_path


def my_start() -> int:
    start = process_start_time(ME)
    assert start is not None
    return start


def unused_pid() -> int:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    return next(pid for pid in range(pid_max - 1, 1, -1) if not Path(f"/proc/{pid}").exists())


def persist(state: RunState) -> None:
    """Rewrite the file after a test edited the state in place (any change saves it all)."""
    state.remove_proxy("", "")


def test_save_and_load_round_trip(state_dir: Path) -> None:
    state = RunState(run_id="round-trip")
    state.add_process(ME, "instance a-z1-0")
    state.add_process(ME, "load", group=False)
    state.add_container("c0ffee", engine="unix:///var/run/docker.sock")
    state.add_network("net1")
    state.add_proxy("http://127.0.0.1:8474", "a_to_b")

    loaded = RunState.load(state.path)

    assert state.path == state_dir / "round-trip.json"
    assert (loaded.run_id, loaded.runner_pid, loaded.runner_start) == ("round-trip", ME, my_start())
    assert loaded.processes == state.processes
    assert [(p.pid, p.start_time, p.role, p.group) for p in loaded.processes] == [
        (ME, my_start(), "instance a-z1-0", True), (ME, my_start(), "load", False)]
    assert loaded.containers == state.containers and loaded.networks == state.networks
    assert loaded.proxies == state.proxies


def test_removing_rewrites_and_close_forgets_the_file() -> None:
    state = RunState(run_id="removals")
    state.add_process(ME, "instance x")
    state.add_proxy("http://127.0.0.1:8474", "p")
    state.remove_process(ME)
    state.remove_proxy("http://127.0.0.1:8474", "p")

    loaded = RunState.load(state.path)
    assert loaded.processes == [] and loaded.proxies == []
    state.close()
    assert not state.path.exists()


def test_process_alive_checks_the_start_time() -> None:
    assert process_alive(ME)
    assert process_alive(ME, my_start())
    # Same pid, another start time: a recycled pid, not our process.
    assert not process_alive(ME, my_start() + 1)
    assert not process_alive(unused_pid())
    assert process_start_time(unused_pid()) is None


def test_kill_recorded_spares_a_recycled_pid() -> None:
    state = RunState(run_id="recycled")
    state.add_process(ME, "instance gone", group=False)
    record = state.processes[0]
    record.start_time += 1

    assert kill_recorded(record) is False  # and we are still here to assert it


async def test_rollback_skips_runs_whose_runner_lives() -> None:
    live = RunState(run_id="live")
    live.add_process(ME, "instance a", group=False)

    assert await rollback() == []
    assert live.path.exists()


async def test_rollback_cleans_up_a_dead_runner_without_touching_recycled_pids() -> None:
    # The runner's pid is ours but its start time is not: that runner is dead.
    dead = RunState(run_id="dead", runner_start=my_start() + 1)
    dead.add_process(ME, "instance a", group=False)
    dead.processes[0].start_time += 1
    dead.add_process(unused_pid(), "instance b")
    persist(dead)

    lines = await rollback()

    assert lines == [f"run dead: runner {ME} is gone, cleaning up"]
    assert not dead.path.exists()


async def test_rollback_include_live_and_unreadable_files(state_dir: Path) -> None:
    live = RunState(run_id="live")
    persist(live)
    (state_dir / "broken.json").write_text("{not json")

    lines = await rollback(include_live=True)

    assert any("unreadable state file" in line for line in lines)
    assert any(line.startswith("run live:") for line in lines)
    assert list(state_dir.glob("*.json")) == []
    assert not live.path.exists()


def test_spawn_env_writes_the_file_before_the_first_spawn_and_marks_the_child(
        state_dir: Path) -> None:
    state = RunState(run_id="marked")
    assert not state.path.exists()

    env = state.spawn_env({"PATH": "/bin"})

    assert env == {"PATH": "/bin", RUN_ENV: "marked"}
    assert RunState.load(state.path).runner_pid == ME
    assert state.marker == f"{RUN_ENV}=marked"


def test_engines_are_recorded_once_and_survive_a_reload() -> None:
    state = RunState(run_id="engines")
    state.add_engine("")
    state.add_engine("unix:///other.sock")
    state.add_engine("")

    assert RunState.load(state.path).engines == ["", "unix:///other.sock"]


async def test_rollback_only_looks_it_never_creates_the_state_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "never-written"
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(folder))

    assert await rollback() == []
    RunState(run_id="nothing").close()

    assert not folder.exists()
