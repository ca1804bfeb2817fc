"""The Locust driver against a real HTTP server on 127.0.0.1, with real Locust."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chaoskit.errors import LoadError
from chaoskit.load.driver import STOP_GRACE, LoadDriver, check_host
from chaoskit.load.window import summarize
from chaoskit.model.experiment import LoadSpec
from chaoskit.model.history import LoadSample
from chaoskit.state import RunState, process_alive

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent


class Target(ThreadingHTTPServer):
    """200 on /ok (503 once ``failing``), 503 on anything else; counts what it answered."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failing = False
        self.answered = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real service
    server: Target

    def do_GET(self) -> None:
        ok = self.path == "/ok" and not self.server.failing
        with self.server.lock:
            self.server.answered += 1
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunState:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    return RunState(run_id="load-test")


def group_members(pgid: int) -> list[int]:
    """Live processes (not zombies) in process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


class Samples:
    """Collects samples with their arrival time; lets the test wait for the next ones."""

    def __init__(self) -> None:
        self.items: list[tuple[float, LoadSample]] = []
        self._arrived = asyncio.Event()

    def __call__(self, sample: LoadSample) -> None:
        self.items.append((time.time(), sample))
        self._arrived.set()

    async def until(self, predicate: object, timeout: float) -> None:
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        while not predicate():
            self._arrived.clear()
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; samples so far: {[s for _, s in self.items]}"
            await asyncio.wait_for(self._arrived.wait(), remaining)

    @property
    def samples(self) -> list[LoadSample]:
        return [s for _, s in self.items]


async def test_streams_a_sample_per_second_follows_failures_and_stops_cleanly(
    target: Target, state: RunState, tmp_path: Path
) -> None:
    samples = Samples()
    driver = LoadDriver()
    spec = LoadSpec(locustfile=str(HERE / "locustfile_ok.py"), users=5, spawn_rate=50, slo=1.0)
    try:
        await driver.start(spec, host=target.url, run_dir=tmp_path / "run",
                           on_sample=samples, state=state, max_duration=30)
        pid = driver.pid
        assert pid is not None
        assert [p.pid for p in state.processes] == [pid]

        first = await driver.wait_first_sample(timeout=10)
        await samples.until(lambda: len(samples.items) >= 4, timeout=10)
        healthy = samples.samples[1:]  # the first second is partial (load started mid-second)
        assert all(s.total.requests > 0 and s.total.failures == 0 for s in healthy)
        assert all(s.by_name["ok"].requests == s.total.requests for s in healthy)
        assert all(s.users == 5 for s in healthy)
        assert summarize(healthy, request="ok").success_ratio == 1.0

        target.failing = True
        switched = time.time()
        # The first whole second after the switch arrives about 2 s later.
        failing_second = math.floor(switched) + 1
        await samples.until(lambda: samples.samples[-1].second >= failing_second, timeout=5)
        [after] = [s for s in samples.samples if s.second == failing_second]
        assert after.total.requests > 0
        ratio = summarize([after]).failure_ratio
        assert ratio is not None and ratio >= 0.95
        assert after.total.good == after.total.requests - after.total.failures
    finally:
        await driver.stop()
    await driver.stop()  # idempotent

    assert not process_alive(pid)
    assert group_members(pid) == []
    assert state.processes == []

    # One sample per second, no gaps, each delivered soon after its second ended.
    seconds = [s.second for s in samples.samples]
    assert seconds == list(range(first.second, first.second + len(seconds)))
    for received, sample in samples.items[:-1]:  # the last may be flushed at shutdown
        assert received - (sample.second + 1) < 1.0, (sample.second, received)

    # Every response Locust saw is in its final JSON; the stream lacks only the
    # last unfinished second; the server answered at most the in-flight requests more.
    final = driver.final_stats()
    assert final is not None and [e.name for e in final] == ["ok"]
    locust_total = final[0].requests
    streamed = sum(s.total.requests for s in samples.samples)
    busiest = max(s.total.requests for s in samples.samples)
    assert 0 <= locust_total - streamed <= 2 * busiest
    assert 0 <= target.answered - locust_total <= spec.users
    assert final[0].failures >= sum(s.total.failures for s in samples.samples) > 0
    assert (tmp_path / "run" / "locust.log").exists()


async def test_a_broken_locustfile_is_a_load_error_with_its_message(
    target: Target, state: RunState, tmp_path: Path
) -> None:
    broken = tmp_path / "broken_locustfile.py"
    broken.write_text("from locust import HttpUser\n\nraise RuntimeError('broken on purpose')\n")
    driver = LoadDriver()
    with pytest.raises(LoadError) as raised:
        await driver.start(LoadSpec(locustfile=str(broken)), host=target.url,
                           run_dir=tmp_path / "run", on_sample=lambda _: None, state=state)
    message = str(raised.value)
    assert "broken on purpose" in message
    assert f"{broken}:3" in message
    assert "Traceback" not in message
    assert driver.pid is not None and not process_alive(driver.pid)
    assert state.processes == []


async def test_a_missing_locustfile_is_a_load_error(target: Target, tmp_path: Path) -> None:
    driver = LoadDriver()
    with pytest.raises(LoadError, match="not found"):
        await driver.start(LoadSpec(locustfile="nowhere.py"), host=target.url,
                           run_dir=tmp_path, on_sample=lambda _: None, base_dir=tmp_path)
    assert driver.pid is None


@pytest.mark.parametrize("host", [
    "http://10.0.0.1:8080", "http://example.com", "redis://10.0.0.1:6379",
    "http://127.0.0.1@example.com:80", "http://127.0.0.2:8080", "https://example.com:443",
])
async def test_a_non_loopback_host_is_refused_before_anything_starts(
    host: str, tmp_path: Path
) -> None:
    driver = LoadDriver()
    with pytest.raises(LoadError, match="refused"):
        await driver.start(LoadSpec(locustfile=str(HERE / "locustfile_ok.py")), host=host,
                           run_dir=tmp_path, on_sample=lambda _: None)
    assert driver.pid is None


@pytest.mark.parametrize("host", [
    "http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.0.0.1",
    "http://LOCALHOST:1/api",
])
def test_loopback_spellings_are_accepted(host: str) -> None:
    assert check_host(host) == host


def test_importing_the_driver_does_not_import_locust_or_gevent() -> None:
    # A fresh interpreter: this test process may hold other imports already.
    code = (
        "import sys, chaoskit.load.driver, chaoskit.load.window\n"
        "bad = sorted(m for m in ('gevent', 'locust') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


_ORPHANING_RUNNER = """
import asyncio, os, sys
from pathlib import Path
from chaoskit.load.driver import STOP_GRACE, LoadDriver, check_host
from chaoskit.model.experiment import LoadSpec

async def main() -> None:
    driver = LoadDriver()
    await driver.start(LoadSpec(locustfile=sys.argv[1], users=1), host=sys.argv[2],
                       run_dir=Path(sys.argv[3]), on_sample=lambda _: None, max_duration=120)
    await driver.wait_first_sample(10)
    print(driver.pid, flush=True)
    os._exit(0)  # the runner dies without stopping its load

asyncio.run(main())
"""


async def test_a_load_whose_runner_died_stops_by_itself(target: Target, tmp_path: Path) -> None:
    runner = subprocess.run(
        [sys.executable, "-c", _ORPHANING_RUNNER, str(HERE / "locustfile_ok.py"), target.url,
         str(tmp_path / "run")],
        capture_output=True, text=True, timeout=60, check=True,
    )
    pid = int(runner.stdout.strip())
    # Far sooner than its 180 s -t bound: it notices the closed stream at its next sample.
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not process_alive(pid)
    assert "closed the sample stream" in (tmp_path / "run" / "locust.log").read_text()


async def test_a_locust_that_ignores_sigterm_is_killed_with_its_group(
    target: Target, state: RunState, tmp_path: Path
) -> None:
    # A task spinning in Python never yields to gevent, so Locust's SIGTERM
    # handler (a gevent callback) never runs: only the SIGKILL can end it.
    hog = tmp_path / "hog_locustfile.py"
    hog.write_text(
        "from locust import User, task\n\n\n"
        "class Hog(User):\n"
        "    @task\n"
        "    def spin(self) -> None:\n"
        "        while True:\n"
        "            pass\n"
    )
    driver = LoadDriver()
    await driver.start(LoadSpec(locustfile=str(hog), users=1), host=target.url,
                       run_dir=tmp_path / "run", on_sample=lambda _: None, state=state)
    pid = driver.pid
    assert pid is not None
    began = time.monotonic()
    await driver.stop()
    took = time.monotonic() - began
    assert took >= STOP_GRACE  # it really waited for the grace, then killed
    assert not process_alive(pid) and group_members(pid) == []
    assert state.processes == []
