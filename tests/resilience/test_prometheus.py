"""The Prometheus experiment has teeth: a PromQL steady state, on the services' own metrics
through the run's own Prometheus, passes with the circuit breaker and deviates without it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.resilience.conftest import run_pair, shortened, worst_during

pytestmark = [
    pytest.mark.integration,
    pytest.mark.resilience,
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="Debian's prometheus is not installed (apt-get install prometheus)"),
]

WAITING = "calls to ratings that wait out the timeout"


def test_latency_monkey_in_prometheus_needs_the_breaker(pair_dir: Path) -> None:
    experiment = shortened("netflix_prometheus.yaml", pair_dir, method={0: {"duration": "10s"}})
    pair = run_pair(pair_dir, experiment, "circuit_breaker")
    pair.assert_teeth()
    # The reading is Prometheus's: a query result, not a probe that could not read.
    for finished in (pair.defended, pair.undefended):
        details = [e["detail"] for e in finished.events("probe") if e["name"] == WAITING]
        assert details and all("prometheus" in d for d in details), details
    # Not a near miss: without the breaker most calls wait out the timeout.
    assert worst_during(pair.undefended)[WAITING] > 0.5  # type: ignore[operator]
    assert worst_during(pair.defended)[WAITING] < 0.1  # type: ignore[operator]
