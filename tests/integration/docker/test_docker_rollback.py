"""A SIGKILLed runner's containers are removed by ``rollback()`` from the state file alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chaoskit.state import rollback

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.timeout(120)]

HERE = Path(__file__).parent


async def test_rollback_after_a_sigkilled_runner_leaves_no_container(
        run_id: str, client: object, state_dir: Path, tmp_path: Path) -> None:
    runner = subprocess.Popen(
        [sys.executable, str(HERE / "docker_crashing_runner.py"), run_id, str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=HERE,
        env={**os.environ, "CHAOSKIT_STATE_DIR": str(state_dir)},
    )
    try:
        line = runner.stdout.readline()  # type: ignore[union-attr]
        assert line, "the runner died before its instances were healthy"
        ids = json.loads(line)
        assert len(ids) == 4
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
    label = {"label": f"chaoskit.run={run_id}"}
    running = client.containers.list(filters=label)  # type: ignore[attr-defined]
    assert {c.id for c in running} == set(ids), "the crash should leave them running"

    lines = await rollback()

    assert client.containers.list(all=True, filters=label) == []  # type: ignore[attr-defined]
    assert sum("removed container" in line for line in lines) == 4
    assert not (state_dir / f"{run_id}.json").exists()
