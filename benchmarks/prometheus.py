"""Start-up time of the run's own Prometheus: to ``/-/ready``, and to a first scrape of
every target, against loopback ``/metrics`` servers started here.

Run: ``python -m benchmarks.prometheus [--starts N] [--targets K]``. Each start is a
fresh Prometheus (new TSDB) started exactly as a run starts it (one static target per
instance, 1 s scrapes); figures are the median, min and max of N starts. The first
scrape waits for Prometheus's discovery manager, which hands targets over on a 5 s
tick: that, not the process, is most of what a run waits for.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from chaoskit.model.topology import Instance, RestartPolicy, Topology
from chaoskit.platform.base import Launch
from chaoskit.runner.prometheus import PrometheusServer, find_prometheus

BODY = b"".join(b'http_requests_total{code="%d"} %d\n' % (c, c) for c in range(200, 230))


@contextmanager
def metrics_servers(count: int) -> Iterator[list[int]]:
    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, format: str, *args: object) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Answer) for _ in range(count)]
    for httpd in servers:
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield [httpd.server_address[1] for httpd in servers]
    finally:
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()


def _system(ports: list[int]) -> tuple[Topology, list[Launch]]:
    topology = Topology.model_validate({
        "name": "bench", "entrypoint": "svc",
        "regions": [{"name": "r", "zones": ["r-a"]}],
        "services": [{"name": "svc", "command": ["true"], "scope": "zone",
                      "replicas": len(ports)}]})
    launches = [Launch(instance=Instance(id=f"svc-r-a-{i}", service="svc", zone="r-a",
                                         region="r", index=i),
                       argv=("true",), env={}, cwd=".", ports={"http": port},
                       restart=RestartPolicy())
                for i, port in enumerate(ports)]
    return topology, launches


async def measure(starts: int, targets: int) -> tuple[list[float], list[float]]:
    ready: list[float] = []
    scraping: list[float] = []
    with metrics_servers(targets) as ports, tempfile.TemporaryDirectory() as tmp:
        topology, launches = _system(ports)
        for n in range(starts):
            server = await PrometheusServer.start(topology, launches, folder=Path(tmp) / str(n))
            try:
                assert server.ready_seconds is not None and server.scraping_seconds is not None
                ready.append(server.ready_seconds)
                scraping.append(server.scraping_seconds)
            finally:
                await server.close()
    return ready, scraping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--targets", type=int, default=7, help="7: the small platform")
    args = parser.parse_args()
    print(f"prometheus: {find_prometheus()}, {args.starts} starts, {args.targets} targets")
    ready, scraping = asyncio.run(measure(args.starts, args.targets))
    for name, values in (("to /-/ready", ready), ("to every target scraped", scraping)):
        print(f"  {name:24} median {statistics.median(values):6.2f} s   "
              f"min {min(values):6.2f} s   max {max(values):6.2f} s")


if __name__ == "__main__":
    main()
