"""A load that dies in the middle of a run is a reported error with its reason, not silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.load.test_driver import Target, target
from tests.integration.runner.conftest import Chaoskit, chaoskit

pytestmark = pytest.mark.integration

LOCUSTFILE = Path(__file__).parent / "locustfile_dies.py"
__all__ = ["chaoskit", "target"]  # fixtures, used by name


def test_a_locust_killed_mid_run_is_a_run_error_that_says_why(
    chaoskit: Chaoskit, target: Target,
) -> None:
    experiment = chaoskit.experiment(
        "title: the load dies\n"
        f"load: {{locustfile: {LOCUSTFILE}, users: 2, spawn_rate: 10, host: '{target.url}'}}\n"
        "steady_state:\n"
        "  - {name: ok, probe: load.success_ratio, window: 2s, tolerance: {min: 0.9}}\n"
        "settings: {warmup: 6s}\n")
    finished = chaoskit.run("run", str(experiment), "--plain", timeout=90)
    errors = [e["message"] for e in finished.events("error")]
    assert any("load stopped" in m and "SIGKILL" in m for m in errors), \
        (errors, finished.output)
    assert finished.code != 0, finished.output
    chaoskit.assert_nothing_left()
