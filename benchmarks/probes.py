"""Cost of one reading of each probe kind, in µs, against loopback servers started here.

Run: ``python -m benchmarks.probes [--reads N]``. Every figure is the median of N
readings taken one after another; ratios are against the http probe measured in
the same run (one GET on a local server), so machines compare by ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chaoskit.context import RunContext
from chaoskit.model.history import LoadSample, RequestStats
from chaoskit.model.probes import (
    Breach,
    CommandProbe,
    HttpProbe,
    LoadProbe,
    MetricProbe,
    PrometheusProbe,
    TcpProbe,
)
from chaoskit.probes import build_probe
from tests.unit.probes.support import context, launch

VECTOR = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"i": "a"}, "value": [1.0, "1"]}, {"metric": {"i": "b"}, "value": [1.0, "2"]}]}})
METRICS = "".join(f'requests_total{{code="{c}"}} {n}\n' for n, c in enumerate(range(200, 230)))


@contextmanager
def server() -> Iterator[int]:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (VECTOR if self.path.startswith("/api/") else METRICS).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


async def cost_us(probe: Any, ctx: RunContext, reads: int) -> tuple[float, Any]:
    reading = await probe.read(ctx)  # warm up
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        reading = await probe.read(ctx)
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times), reading.value


async def measure(reads: int) -> list[tuple[str, float, Any]]:
    with server() as port, tempfile.TemporaryDirectory() as tmp:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        tcp_port = listener.sockets[0].getsockname()[1]
        launches = [launch("svc", i, {"http": port, "raw": tcp_port}) for i in range(3)]
        ctx = context(Path(tmp), launches, prometheus_url=f"http://127.0.0.1:{port}")
        probes = [
            ("http (baseline)", HttpProbe(probe="http", url=f"http://127.0.0.1:{port}/")),
            ("tcp, 1 address", TcpProbe(probe="tcp", address=f"127.0.0.1:{tcp_port}")),
            ("tcp, 3 instances", TcpProbe(probe="tcp", port="raw")),
            ("command (true, exit status)", CommandProbe(probe="command", command=("true",))),
            ("command (python -c, regex)", CommandProbe(
                probe="command", command=(sys.executable, "-S", "-c", "print(42)"),
                regex=r"(\d+)")),
            ("prometheus instant (fake API)", PrometheusProbe(probe="prometheus", query="up")),
            ("metric, 3 instances", MetricProbe(probe="metric", metric="requests_total")),
            ("load.success_ratio 60 s", LoadProbe(probe="load.success_ratio", window=60)),
            ("load breach 60 s", LoadProbe(probe="load.success_ratio", window=60,
                                           breach=Breach(below=0.95))),
        ]
        results = []
        for name, spec in probes:
            now = int(time.time())  # fresh samples: a stale window reads None
            ctx.history.events.clear()
            for second in range(now - 60, now):
                ctx.history.append(LoadSample(second=second, total=RequestStats(
                    requests=100, failures=second % 7, good=100 - second % 7)))
            micros, value = await cost_us(build_probe(spec), ctx, reads)
            results.append((name, micros, value))
        listener.close()
        await listener.wait_closed()
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    results = asyncio.run(measure(args.reads))
    baseline = results[0][1]
    print(f"{'probe':34} {'µs/reading':>11} {'x http':>7}  value")
    for name, micros, value in results:
        print(f"{name:34} {micros:11.0f} {micros / baseline:7.2f}  {value}")


if __name__ == "__main__":
    main()
