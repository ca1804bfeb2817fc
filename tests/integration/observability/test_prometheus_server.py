"""The run's own Prometheus on real processes: started, scraping every instance, stopped at
teardown, and stopped by ``chaoskit rollback`` after a SIGKILLed runner."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest

from tests.integration.runner.conftest import (
    Chaoskit,
    processes_mentioning,
    variant,
    wait_for_line,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="Debian's prometheus is not installed (apt-get install prometheus)"),
]

INSTANCES = {"gateway-global-0", "payments-us-east-0", "ratings-us-east-0",
             "recommendations-us-east-0", *(f"playback-us-east-1{z}-0" for z in "abc")}
"""Every instance of targets/netflix_small.yaml."""


def _experiment(chaoskit: Chaoskit, duration: str) -> Path:
    method = f"  - {{fault: instance_kill, service: playback, count: 1, duration: {duration}}}\n"
    return chaoskit.experiment(variant(method=method) + "observability: {prometheus: true}\n")


def _url(chaoskit: Chaoskit) -> str:
    (log,) = chaoskit.reports.glob("*/run.log")
    found = re.search(r"Prometheus at (http://127\.0\.0\.1:\d+)", log.read_text())
    assert found, log.read_text()
    return found.group(1)


def _query(url: str, promql: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]  # type: ignore[no-any-return]


def _prometheus_processes(chaoskit: Chaoskit) -> list[str]:
    return [p for p in processes_mentioning(str(chaoskit.tmp)) if "prometheus --config" in p]


def test_it_scrapes_every_instance_and_stops_at_teardown(chaoskit: Chaoskit) -> None:
    process = chaoskit.start("run", str(_experiment(chaoskit, "4s")))
    early = wait_for_line(process, "phase  warmup")
    assert "every instance scraped" in early
    url = _url(chaoskit)
    assert _prometheus_processes(chaoskit)
    up = _query(url, "up")
    labels = {r["metric"]["instance"]: r["metric"] for r in up}  # type: ignore[index]
    assert set(labels) == INSTANCES
    assert labels["playback-us-east-1b-0"] == {
        "__name__": "up", "job": "playback", "instance": "playback-us-east-1b-0",
        "service": "playback", "zone": "us-east-1b", "region": "us-east"}
    # The targets' own samples, with chaoskit's labels only (no exported_* doubles).
    uptime = _query(url, "process_uptime_seconds")
    assert {r["metric"]["instance"] for r in uptime} == INSTANCES  # type: ignore[index]
    assert not [r for r in uptime if any(k.startswith("exported_") for k in r["metric"])]  # type: ignore[attr-defined]
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, early + output
    folder = chaoskit.last_run_dir()
    assert folder is not None
    assert (folder / "prometheus" / "prometheus.yml").is_file()
    assert (folder / "prometheus" / "data").is_dir()
    assert "See you next time" in (folder / "prometheus" / "prometheus.log").read_text()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/-/ready", timeout=2)
    chaoskit.assert_nothing_left()


def test_rollback_stops_it_after_a_sigkilled_runner(chaoskit: Chaoskit) -> None:
    process = chaoskit.start("run", str(_experiment(chaoskit, "120s")))
    wait_for_line(process, "phase  warmup")
    url = _url(chaoskit)
    process.kill()
    process.wait(timeout=10)
    assert _prometheus_processes(chaoskit), "Prometheus outlives a SIGKILLed runner"
    assert httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    rollback = chaoskit.start("rollback")
    output, _ = rollback.communicate(timeout=60)
    assert rollback.returncode == 0, output
    assert "killed prometheus" in output
    chaoskit.assert_nothing_left()


def test_a_missing_binary_is_an_error_naming_the_field_and_starts_nothing(
    chaoskit: Chaoskit,
) -> None:
    chaoskit.env["CHAOSKIT_PROMETHEUS"] = str(chaoskit.tmp / "no" / "prometheus")
    done = chaoskit.run("run", str(_experiment(chaoskit, "4s")), timeout=60)
    assert done.code == 4, done.output
    assert "observability.prometheus" in done.output
    assert "apt-get install prometheus" in done.output
    assert not processes_mentioning(str(chaoskit.tmp))
    assert not list((chaoskit.tmp / "state").glob("*.json"))
