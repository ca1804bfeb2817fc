"""FIT on real processes: the load tags cohorts, request_fault faults the experiment cohort only.

netflix_small runs as real processes (planned by chaoskit's deployment planner,
started here), a real Locust (chaoskit's load driver and glue) sends stream
starts through the gateway with a quarter of the requests in each cohort, and
the ``request_fault`` fault sets "calls to playback fail for the experiment
cohort" on the gateway through its admin endpoint, then clears it. The
per-second samples show it: the experiment cohort fails, the control cohort and
all other traffic are untouched, and after the revert both cohorts are served.
A plain ``HttpUser`` (requests' session, the other HTTP client the glue wraps)
sends its cohort header beside its own headers, and the per-cohort samples count
what the server saw.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import httpx
import pytest
import yaml

from chaoskit.context import RunContext
from chaoskit.faults.request_fault import RequestFaultFault
from chaoskit.load.driver import LoadDriver
from chaoskit.model.experiment import Experiment, LoadSpec
from chaoskit.model.faults import RequestFault
from chaoskit.model.history import History, LoadSample
from chaoskit.model.topology import Topology
from chaoskit.platform.base import Launch, Platform
from chaoskit.platform.deployment import child_environment, plan_launches

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
TOPOLOGY = ROOT / "targets" / "netflix_small.yaml"


@pytest.fixture
def launches(tmp_path: Path) -> Iterator[list[Launch]]:
    topology = Topology.model_validate(yaml.safe_load(TOPOLOGY.read_text()))
    # The file's workdir (..) is relative to its own folder.
    planned = plan_launches(topology, base_dir=str(TOPOLOGY.parent), data_dir=tmp_path)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for launch in planned:
            log = (tmp_path / f"{launch.instance.id}.log").open("wb")
            processes.append(subprocess.Popen(
                launch.argv, env=child_environment(dict(launch.env)), cwd=launch.cwd,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 30
        for launch, process in zip(planned, processes, strict=True):
            while True:
                assert process.poll() is None, f"{launch.instance.id} exited"
                try:
                    if httpx.get(f"http://{launch.address}/health", timeout=0.5).is_success:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{launch.instance.id} never healthy"
                time.sleep(0.1)
        yield planned
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def failures(samples: list[LoadSample], group: str, seconds: range) -> tuple[int, int]:
    """(requests, failures) of ``group`` over the given seconds."""
    chosen = [s for s in samples if s.group == group and s.second in seconds]
    return sum(s.total.requests for s in chosen), sum(s.total.failures for s in chosen)


async def test_the_experiment_cohort_alone_fails_while_the_rule_is_in_force(
        launches: list[Launch], tmp_path: Path) -> None:
    experiment = Experiment.model_validate({
        "title": "fit", "topology": yaml.safe_load(TOPOLOGY.read_text()),
        "groups": {"control": True, "share": "25%"},
        "steady_state": [{"name": "plays", "probe": "load.success_ratio", "window": "5s",
                          "tolerance": {"min": 0.9}}],
        "method": [{"fault": "request_fault", "dependency": "playback", "error": True,
                    "duration": "4s"}]})
    spec = experiment.method[0]
    assert isinstance(spec, RequestFault)
    fault = RequestFaultFault(spec)
    ctx = RunContext(experiment=experiment, platform=cast(Platform, None), launches=launches,
                     history=History(), run_dir=tmp_path, rng=random.Random(7))
    gateway = next(launch for launch in launches if launch.instance.service == "gateway")
    samples: list[LoadSample] = []
    driver = LoadDriver()
    load = LoadSpec(locustfile=str(ROOT / "targets" / "load" / "streaming.py"), users=10,
                    spawn_rate=50)
    try:
        await driver.start(load, host=f"http://{gateway.address}", run_dir=tmp_path / "load",
                           on_sample=samples.append, max_duration=40,
                           env={"CHAOSKIT_COHORT_SHARE": "0.25", "CHAOSKIT_COHORT_SEED": "7"})
        await driver.wait_first_sample(timeout=15)
        await asyncio.sleep(2)
        injected_at = time.time()
        injection = await fault.inject(ctx)
        assert injection.targets == (gateway.instance.id,)
        async with httpx.AsyncClient() as client:
            rules = (await client.get(f"http://{gateway.address}/admin/fit")).json()["rules"]
        assert [(r["dependency"], r["cohort"], r["error"]) for r in rules] == [
            ("playback", "experiment", True)]
        await asyncio.sleep(4)
        reverted_at = time.time()
        await fault.revert(ctx, injection)
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://{gateway.address}/admin/fit")).json() == {
                "rules": []}
        # The experiment cohort's own breaker half-opens 2 s after it opened.
        await asyncio.sleep(5)
    finally:
        await driver.stop()
    before = range(int(injected_at) - 2, int(injected_at))
    during = range(int(injected_at) + 1, int(reverted_at))
    after = range(int(reverted_at) + 3, int(reverted_at) + 5)
    # Every second has one sample per group: all traffic, then each cohort.
    seconds = sorted({s.second for s in samples})
    assert [s.group for s in samples if s.second == seconds[1]] == ["", "control", "experiment"]
    for window in (before, after):
        for group in ("", "control", "experiment"):
            requests, failed = failures(samples, group, window)
            assert requests > 0 and failed == 0, (group, window, requests, failed)
    requests, failed = failures(samples, "experiment", during)
    assert requests > 10 and failed == requests
    requests, failed = failures(samples, "control", during)
    assert requests > 10 and failed == 0
    everything, failed_all = failures(samples, "", during)
    assert failed_all == failed + failures(samples, "experiment", during)[1]
    assert everything > 3 * requests  # half of all traffic carries no cohort


HTTP_USER = """
from locust import HttpUser, constant, task


class Browser(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self) -> None:
        # The user's own headers must survive the cohort header being added.
        self.client.get("/page", name="page", headers={"X-User-Id": "u1"})
"""


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: Counter[tuple[str | None, str | None]]

    def do_GET(self) -> None:
        self.seen[self.headers.get("X-Chaoskit-Cohort"), self.headers.get("X-User-Id")] += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_an_http_user_s_requests_carry_their_cohort_and_keep_their_headers(
        tmp_path: Path) -> None:
    seen: Counter[tuple[str | None, str | None]] = Counter()
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    locustfile = tmp_path / "browse.py"
    locustfile.write_text(HTTP_USER)
    samples: list[LoadSample] = []
    driver = LoadDriver()
    try:
        await driver.start(LoadSpec(locustfile=str(locustfile), users=4, spawn_rate=50),
                           host=f"http://127.0.0.1:{server.server_address[1]}",
                           run_dir=tmp_path / "load", on_sample=samples.append,
                           max_duration=30, env={"CHAOSKIT_COHORT_SHARE": "30%"})
        await driver.wait_first_sample(timeout=15)
        await asyncio.sleep(4)
    finally:
        await driver.stop()
        server.shutdown()
        server.server_close()
    # Every request kept the user's header; the cohort header has only cohort values.
    assert {user for _, user in seen} == {"u1"}
    assert {cohort for cohort, _ in seen} == {None, "control", "experiment"}
    counted = {group: sum(s.total.requests for s in samples if s.group == group)
               for group in ("", "control", "experiment")}
    total = sum(seen.values())
    # The samples count what the server saw (less the unfinished last second).
    assert counted[""] > 50 and total - 100 <= counted[""] <= total
    for cohort in ("control", "experiment"):
        assert seen[cohort, "u1"] - 30 <= counted[cohort] <= seen[cohort, "u1"]
        # Each cohort is 30 % of the requests, within 4 standard deviations.
        assert abs(counted[cohort] / counted[""] - 0.3) < 4 * (0.21 / counted[""]) ** 0.5
