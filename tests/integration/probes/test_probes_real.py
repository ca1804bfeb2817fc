"""The new probes against real programs on 127.0.0.1: redis-server with redis-cli, and
Debian's prometheus scraping a metrics endpoint served by the test."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from chaoskit.errors import ObserverError
from chaoskit.model.probes import CommandProbe, PrometheusProbe, TcpProbe
from chaoskit.probes import build_probe
from tests.unit.probes.support import context

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} not within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def redis_pair(tmp_path: Path) -> Iterator[tuple[int, int, list[subprocess.Popen[bytes]]]]:
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        pytest.skip("redis-server and redis-cli are not installed (Debian: redis-server)")
    primary, replica = free_port(), free_port()
    processes = []
    try:
        for port, extra in ((primary, []), (replica, ["--replicaof", "127.0.0.1", str(primary)])):
            processes.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(tmp_path), *extra],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in (primary, replica):
            wait_for(lambda p=port: subprocess.run(
                ["redis-cli", "-p", str(p), "PING"], capture_output=True).stdout.strip()
                == b"PONG", 10, f"redis on {port}")
        yield primary, replica, processes
    finally:
        for process in processes:
            stop(process)


async def test_redis_role_and_tcp(tmp_path: Path,
                                  redis_pair: tuple[int, int, list[Any]]) -> None:
    primary, replica, processes = redis_pair
    ctx = context(tmp_path)

    def role(port: int, **fields: Any) -> CommandProbe:
        return CommandProbe.model_validate({
            "probe": "command", "command": ["redis-cli", "-p", str(port), "ROLE"], **fields})

    masters = [await build_probe(role(p, regex="^master$", count=True)).read(ctx)
               for p in (primary, replica)]
    assert [m.value for m in masters] == [1.0, 0.0]
    # The replica's ROLE names the primary's port on its third line.
    seen = await build_probe(role(replica, regex=r"^(\d+)$")).read(ctx)
    assert seen.value == float(primary)
    both = TcpProbe(probe="tcp", address=f"127.0.0.1:{primary}")
    assert (await build_probe(both).read(ctx)).value == 1.0
    stop(processes[0])
    assert (await build_probe(both).read(ctx)).value == 0.0
    gone = await build_probe(role(primary, regex="^master$", count=True)).read(ctx)
    assert gone.value is None and "exit status" in gone.detail


@pytest.fixture
def metrics_endpoint() -> Iterator[tuple[int, dict[str, float]]]:
    values = {"breaker_open": 0.0}

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = "".join(f'{k}{{shard="{s}"}} {v}\n' for k, v in values.items()
                           for s in ("a", "b")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], values
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def prometheus(tmp_path: Path, metrics_endpoint: tuple[int, dict[str, float]]
               ) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (Debian: prometheus)")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: t\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{metrics_endpoint[0]}']}}]\n")
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        def scraped() -> bool:
            try:
                answer = httpx.get(f"{url}/api/v1/query", params={"query": 'up{job="t"}'})
                return bool(answer.json()["data"]["result"])
            except (httpx.HTTPError, ValueError, KeyError):
                return False
        wait_for(scraped, 30, "prometheus's first scrape")
        yield url
    finally:
        stop(process)
        log.close()


async def test_prometheus_probe_against_a_real_server(
        tmp_path: Path, prometheus: str, metrics_endpoint: tuple[int, dict[str, float]]) -> None:
    ctx = context(tmp_path, prometheus_url=prometheus)

    def query(q: str, **fields: Any) -> PrometheusProbe:
        return PrometheusProbe.model_validate({"probe": "prometheus", "query": q, **fields})

    up = await build_probe(query('up{job="t"}')).read(ctx)
    assert up.value == 1.0
    metrics_endpoint[1]["breaker_open"] = 1.0
    await asyncio.sleep(2.5)  # two scrapes at 1 s
    both = await build_probe(query("breaker_open")).read(ctx)
    assert both.value == 2.0 and "2 series" in both.detail  # one per shard, summed
    assert (await build_probe(query("breaker_open", series="count")).read(ctx)).value == 2.0
    ranged = await build_probe(query("sum(breaker_open)", range=True, over_time="min")
                               ).read(ctx, window=30)
    assert ranged.value == 0.0  # the window still holds the scrapes before the change
    highest = await build_probe(query("sum(breaker_open)", range=True, over_time="max")
                                ).read(ctx, window=30)
    assert highest.value == 2.0
    # The observer failing (a query it rejects, no server) is an error, not a reading.
    with pytest.raises(ObserverError) as bad:
        await build_probe(query("sum(breaker_open) +")).read(ctx)
    assert "bad_data" in str(bad.value) and "parse error" in str(bad.value)
    absent = await build_probe(query("no_such_metric")).read(ctx)
    assert absent.value is None and "no series" in absent.detail
    with pytest.raises(ObserverError, match="unreachable"):
        await build_probe(query("up", url=f"http://127.0.0.1:{free_port()}", timeout=1)
                          ).read(ctx)
