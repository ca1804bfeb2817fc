"""The small topology as real processes: calls through the gateway survive a SIGKILLed playback.

Instances are planned by chaoskit's own deployment planner (so the YAML and the
environment contract are exercised as the runner uses them) but started here
with plain subprocess, each in its own session, and all stopped at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from chaoskit.model.topology import Topology
from chaoskit.platform.deployment import child_environment, plan_launches

pytestmark = pytest.mark.integration
TARGETS = Path(__file__).resolve().parents[3] / "targets"


@dataclass
class Running:
    urls: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url} exited with {process.returncode}"
        try:
            if httpx.get(f"{url}/health", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never became healthy")


@pytest.fixture
def small(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    disabled = getattr(request, "param", ())
    topology = Topology.model_validate(yaml.safe_load((TARGETS / "netflix_small.yaml").read_text()))
    launches = plan_launches(topology, base_dir=str(TARGETS), data_dir=tmp_path,
                             disabled=disabled)
    running = Running(urls={}, processes={})
    try:
        for launch in launches:
            log = (tmp_path / f"{launch.instance.id}.log").open("wb")
            running.processes[launch.instance.id] = subprocess.Popen(
                launch.argv, env=child_environment(dict(launch.env)), cwd=launch.cwd,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            running.urls[launch.instance.id] = f"http://{launch.address}"
        deadline = time.monotonic() + 30
        for name, url in running.urls.items():
            _wait_healthy(url, running.processes[name], deadline)
        yield running
    finally:
        terminated = [p for p in running.processes.values() if p.poll() is None]
        for process in terminated:
            process.send_signal(signal.SIGTERM)
        for process in running.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        assert all(p.poll() is not None for p in running.processes.values())
        # SIGTERM is a graceful stop: every service exits cleanly, none needed a SIGKILL.
        assert [p.returncode for p in terminated] == [0] * len(terminated)


def test_calls_through_the_gateway(small: Running) -> None:
    gateway = small.urls["gateway-global-0"]
    with httpx.Client(base_url=gateway, timeout=5) as client:
        play = client.get("/play/dark", headers={"X-Priority": "critical"})
        assert play.status_code == 200
        assert play.json()["title"] == "dark"
        assert play.json()["instance"].startswith("playback-us-east-1")

        recs = client.get("/recommendations/ana")
        assert recs.status_code == 200 and recs.headers["X-Cache"] == "MISS"

        key = str(uuid.uuid4())
        first = client.post("/pay", json={"amount": 500}, headers={"Idempotency-Key": key})
        again = client.post("/pay", json={"amount": 500}, headers={"Idempotency-Key": key})
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert again.headers["Idempotent-Replayed"] == "true"
        audit = client.get("/audit").json()
        assert audit["violations"] == 0 and audit["acknowledged"] == 1 and audit["charges"] == 1


def _kill_playback_and_burst(small: Running) -> list[int]:
    victim = small.processes["playback-us-east-1b-0"]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=5)
    with httpx.Client(base_url=small.urls["gateway-global-0"], timeout=5) as client:
        return [client.get(f"/play/title-{i}").status_code for i in range(60)]


def test_gateway_answers_everything_while_a_playback_is_killed(small: Running) -> None:
    statuses = _kill_playback_and_burst(small)
    gateway = small.urls["gateway-global-0"]
    with httpx.Client(base_url=gateway, timeout=5) as client:
        served_by = {client.get("/play/x").json()["instance"] for _ in range(12)}
        metrics = client.get("/metrics").text
    assert statuses == [200] * 60
    assert "playback-us-east-1b-0" not in served_by
    retries = [line for line in metrics.splitlines()
               if line.startswith("upstream_retries_total") and 'upstream="playback"' in line]
    assert retries and float(retries[0].rsplit(" ", 1)[1]) >= 1


@pytest.mark.parametrize("small", [("retries",)], indirect=True)
def test_without_retries_the_killed_playback_shows(small: Running) -> None:
    statuses = _kill_playback_and_burst(small)
    # No retry and no ejection: the dead instance's third of the calls fails.
    assert 15 <= statuses.count(502) <= 25 and statuses.count(200) >= 35


def _locust(locustfile: str, host: str, out: Path) -> dict[str, dict[str, int]]:
    """Run a bundled locustfile for 3 s; its final stats by request name."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "locust"), "-f", str(TARGETS / "load" / locustfile),
         "--headless", "-u", "4", "-r", "4", "-t", "3s", "--only-summary", "--host", host,
         "--json-file", str(out), "--exit-code-on-error", "0"],
        capture_output=True, timeout=60, check=True)
    stats = json.loads(out.with_suffix(".json").read_text())
    assert stats, result.stderr.decode()[-2000:]
    return {s["name"]: s for s in stats}


def test_the_locustfiles_run_against_the_gateway(small: Running, tmp_path: Path) -> None:
    gateway = small.urls["gateway-global-0"]
    play = _locust("streaming.py", gateway, tmp_path / "streaming")["play"]
    assert play["num_requests"] > 20 and play["num_failures"] == 0

    prime = _locust("prime_day.py", gateway, tmp_path / "prime")
    assert prime["recommendations"]["num_requests"] > 0
    assert prime["recommendations"]["num_failures"] == 0  # no overload: nothing shed

    browsing = _locust("browsing.py", gateway, tmp_path / "browsing")
    assert browsing["recommendations"]["num_requests"] > 10
    assert browsing["recommendations"]["num_failures"] == 0

    paid = _locust("payments.py", gateway, tmp_path / "payments")
    assert paid["payment"]["num_requests"] > 5 and paid["payment"]["num_failures"] == 0
    audit = httpx.get(f"{gateway}/audit", timeout=10).json()
    assert audit["violations"] == 0 and audit["acknowledged"] >= paid["payment"]["num_requests"]


@pytest.mark.parametrize("small", [(), ("stale_fallback",)], indirect=True,
                         ids=["fallback", "no-fallback"])
def test_recommendations_survive_a_killed_ratings_only_with_the_fallback(
        small: Running, request: pytest.FixtureRequest) -> None:
    with httpx.Client(base_url=small.urls["gateway-global-0"], timeout=5) as client:
        assert client.get("/recommendations/ana").headers["X-Cache"] == "MISS"
        ratings = small.processes["ratings-us-east-0"]
        os.kill(ratings.pid, signal.SIGKILL)
        ratings.wait(timeout=5)
        answer = client.get("/recommendations/ana")
    if "no-fallback" in request.node.callspec.id:
        assert answer.status_code == 502  # recommendations' 503, as the gateway reports it
    else:
        assert answer.status_code == 200 and answer.headers["X-Cache"] == "STALE"
        assert answer.json()["stale"] is True and "Age" in answer.headers
