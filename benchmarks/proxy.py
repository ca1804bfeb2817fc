"""Proxy benchmark: a direct connection vs the embedded server vs the real Toxiproxy.

``python -m benchmarks.proxy`` measures, on 127.0.0.1 only, in well under a minute:

* round-trip time of small request/response pairs (64 B echo) with no toxics,
  and the latency each proxy adds (p50, p99, µs);
* bulk one-way throughput (MB/s) with no toxics;
* with a 100 ms latency toxic downstream: the observed added latency (p50, p99, ms);
* how close each timed toxic comes to its nominal value (p50, p99 of the overshoot):
  latency 50+50 ms both ways, latency 60 ± 20 ms, reset_peer 100 ms, slow_close 300 ms,
  bandwidth 200 KB/s, timeout 200 ms. The integration tests only assert that a toxic
  acts and ends (their upper bounds are 10x the value, so a loaded machine cannot trip
  them); this is where its precision is measured.

The echo and sink servers run in a separate process (asyncio protocols), and so
does each proxy server, so neither shares a CPU-bound loop with the client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from chaoskit.proxy.servers import find_toxiproxy, free_port

SMALL = b"x" * 64
BULK_BYTES = 256 * 1024 * 1024
BULK_BLOCK = 1024 * 1024


# --- backend servers (run with --backend in a child process) -----------------------------

class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _Sink(asyncio.Protocol):
    """Counts bytes; the first 8 say how many follow; answers one byte when all arrived."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.header = b""
        self.remaining = -1

    def data_received(self, data: bytes) -> None:
        if self.remaining < 0:
            self.header += data
            if len(self.header) < 8:
                return
            self.remaining = int.from_bytes(self.header[:8], "big")
            data, self.header = self.header[8:], b""
        self.remaining -= len(data)
        if self.remaining <= 0:
            self.transport.write(b"k")
            self.remaining = -1


async def _backend() -> None:
    loop = asyncio.get_running_loop()
    echo = await loop.create_server(_Echo, "127.0.0.1", 0)
    sink = await loop.create_server(_Sink, "127.0.0.1", 0)
    ports = (echo.sockets[0].getsockname()[1], sink.sockets[0].getsockname()[1])
    print(f"{ports[0]} {ports[1]}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin


# --- measurements ---------------------------------------------------------------------------

@dataclass
class Figures:
    rtt_p50_us: float
    rtt_p99_us: float
    throughput_mb_s: float
    latency100_p50_ms: float = float("nan")
    latency100_p99_ms: float = float("nan")


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _round_trips(port: int, count: int) -> list[float]:
    with _connect(port) as sock:
        return _round_trips_on(sock, count)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _throughput(port: int, total: int = BULK_BYTES) -> float:
    block = b"\0" * BULK_BLOCK
    total -= total % BULK_BLOCK
    with _connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(total.to_bytes(8, "big"))
        for _ in range(total // BULK_BLOCK):
            sock.sendall(block)
        assert sock.recv(1) == b"k"
        elapsed = time.perf_counter() - start
    return total / elapsed / 1e6


def measure_all(targets: dict[str, tuple[int, int]], rounds: int,
                passes: int = 3) -> dict[str, Figures]:
    """Interleave the targets pass by pass, so a burst of load elsewhere on the machine
    hits them all alike; throughput is the best pass, RTT percentiles pool all samples."""
    rtts: dict[str, list[float]] = {name: [] for name in targets}
    rates: dict[str, list[float]] = {name: [] for name in targets}
    for echo, _ in targets.values():
        _round_trips(echo, 200)  # warm up
    for _ in range(passes):
        for name, (echo, sink) in targets.items():
            rtts[name] += [t * 1e6 for t in _round_trips(echo, rounds // passes)]
            rates[name].append(_throughput(sink, BULK_BYTES // passes))
    return {name: Figures(statistics.median(rtts[name]), _percentile(rtts[name], 0.99),
                          max(rates[name])) for name in targets}


# --- servers under test -------------------------------------------------------------------

@contextlib.contextmanager
def _process(argv: list[str], ready: str | None) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        yield process
    finally:
        if process.stdin:
            process.stdin.close()
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


@contextlib.contextmanager
def embedded_server() -> Iterator[str]:
    argv = [sys.executable, "-m", "chaoskit", "proxy", "serve", "--port", "0"]
    with _process(argv, None) as process:
        assert process.stdout is not None
        yield process.stdout.readline().strip().rsplit(" ", 1)[1]


@contextlib.contextmanager
def real_toxiproxy(binary: str) -> Iterator[str]:
    port = free_port()
    with _process([binary, "-host", "127.0.0.1", "-port", str(port)], None) as process:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/version", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("toxiproxy did not start")
            time.sleep(0.05)
        yield url


def create_proxies(api: httpx.Client, echo_port: int, sink_port: int) -> tuple[int, int]:
    def create(name: str, port: int) -> int:
        listen = api.post("/proxies", json={"name": name, "listen": "127.0.0.1:0",
                                            "upstream": f"127.0.0.1:{port}"}).json()["listen"]
        return int(listen.rsplit(":", 1)[1])

    return create("echo", echo_port), create("sink", sink_port)


def latency_toxic(api: httpx.Client, echo: int, direct_p50_us: float) -> tuple[float, float]:
    """Observed added latency (ms, p50 and p99) with a 100 ms latency toxic downstream."""
    api.post("/proxies/echo/toxics", json={"type": "latency", "attributes": {"latency": 100}})
    added = [t * 1e3 - direct_p50_us / 1e3 for t in _round_trips(echo, 40)]
    api.post("/reset")
    return statistics.median(added), _percentile(added, 0.99)


ACCURACY_SAMPLES = 8
"""Samples per timed toxic and server: eight 300 ms slow closes are 2.4 s."""


@dataclass
class Accuracy:
    toxic: str
    nominal_ms: float
    overshoot_ms: list[float]
    """Observed minus nominal, per completed sample (negative: early)."""
    stuck: int = 0
    """1 when a sample's toxic had not ended after 10x its nominal value (at least 2 s)."""


def _elapsed_until_end(sock: socket.socket) -> float:
    """Seconds until the proxy closes (EOF) or resets ``sock``."""
    start = time.perf_counter()
    with contextlib.suppress(ConnectionResetError):
        while sock.recv(65536):
            pass
    return time.perf_counter() - start


def toxic_accuracy(api: httpx.Client, echo_backend: int, samples: int = ACCURACY_SAMPLES
                   ) -> list[Accuracy]:
    """Each timed toxic alone on a proxy of its own, each sample on a fresh connection.

    The proxies are left for the server's exit, not deleted nor ``/reset``: on the real
    Toxiproxy 2.12 those API calls can stall on the connections a toxic held (its #558),
    and a connection that a timeout or bandwidth toxic never finishes makes later ones
    hang too, so a toxic's measurement stops at its first stuck sample.
    """

    numbers = itertools.count()

    def measure(name: str, nominal_ms: float, setup: list[dict[str, object]],
                one: Callable[[socket.socket], float]) -> Accuracy:
        proxy = f"accuracy-{next(numbers)}"
        observed: list[float] = []
        stuck = 0
        try:
            listen = api.post("/proxies", json={
                "name": proxy, "listen": "127.0.0.1:0",
                "upstream": f"127.0.0.1:{echo_backend}"}).json()["listen"]
            for body in setup:
                api.post(f"/proxies/{proxy}/toxics", json=body).raise_for_status()
        except httpx.HTTPError as error:
            print(f"{name}: the API failed ({type(error).__name__}); not measured")
            return Accuracy(name, nominal_ms, observed, stuck)
        for _ in range(samples):
            with _connect(int(listen.rsplit(":", 1)[1])) as sock:
                sock.settimeout(max(2.0, nominal_ms / 100))
                try:
                    observed.append(one(sock) * 1e3 - nominal_ms)
                except TimeoutError:
                    stuck += 1
                    break
        return Accuracy(name, nominal_ms, observed, stuck)

    def round_trip(sock: socket.socket) -> float:
        return _round_trips_on(sock, 1)[0]

    def bulk(sock: socket.socket) -> float:
        payload = bytes(range(256)) * 400  # 102,400 B: 512 ms at 200,000 B/s
        start = time.perf_counter()
        sock.sendall(payload)
        got = 0
        while got < len(payload):
            got += len(sock.recv(65536))
        return time.perf_counter() - start

    def send_then_end(sock: socket.socket) -> float:
        start = time.perf_counter()
        sock.sendall(SMALL)
        _elapsed_until_end(sock)
        return time.perf_counter() - start

    def echo_then_close(sock: socket.socket) -> float:
        _round_trips_on(sock, 1)
        sock.shutdown(socket.SHUT_WR)  # the echo server closes; slow_close holds that
        return _elapsed_until_end(sock)

    return [
        measure("latency 50+50 ms", 100, [
            {"type": "latency", "stream": "upstream", "attributes": {"latency": 50}},
            {"type": "latency", "stream": "downstream", "attributes": {"latency": 50}}],
            round_trip),
        measure("latency 60±20 ms", 60, [
            {"type": "latency", "attributes": {"latency": 60, "jitter": 20}}], round_trip),
        measure("reset_peer 100 ms", 100, [
            {"type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 100}}],
            send_then_end),
        measure("slow_close 300 ms", 300, [
            {"type": "slow_close", "attributes": {"delay": 300}}], echo_then_close),
        # Last, as against the real Toxiproxy 2.12 their later samples can hang and its
        # API then stall, which would leave the toxics after them unmeasured.
        measure("bandwidth 200 KB/s", 512, [
            {"type": "bandwidth", "attributes": {"rate": 200}}], bulk),
        measure("timeout 200 ms", 200, [
            {"type": "timeout", "attributes": {"timeout": 200}}], send_then_end),
    ]


def _round_trips_on(sock: socket.socket, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        sock.sendall(SMALL)
        got = 0
        while got < len(SMALL):
            got += len(sock.recv(65536))
        times.append(time.perf_counter() - start)
    return times


# --- report -----------------------------------------------------------------------------------

def _ratio(value: float, base: float) -> str:
    return f"{value / base:5.2f}x" if base and base == base else "    -"


def report(results: dict[str, Figures]) -> str:
    direct = results["direct"]
    real = results.get("toxiproxy")
    head = (f"{'':10} {'RTT p50':>9} {'RTT p99':>9} {'added p50':>10} {'added p99':>10} "
            f"{'MB/s':>8} {'100ms-toxic p50':>16} {'p99':>8}")
    lines = [f"Proxy benchmark, 127.0.0.1, {os.cpu_count()} CPUs, Python "
             f"{sys.version.split()[0]} (times in µs unless marked)", head, "-" * len(head)]
    for name, f in results.items():
        added50 = f.rtt_p50_us - direct.rtt_p50_us
        added99 = f.rtt_p99_us - direct.rtt_p99_us
        toxic = ("" if name == "direct" else
                 f"{f.latency100_p50_ms:13.2f} ms {f.latency100_p99_ms:5.2f} ms")
        lines.append(f"{name:10} {f.rtt_p50_us:9.1f} {f.rtt_p99_us:9.1f} {added50:10.1f} "
                     f"{added99:10.1f} {f.throughput_mb_s:8.0f} {toxic}")
    lines += ["", "Ratios (RTT p50: lower is better; throughput: higher is better)"]
    for name, f in results.items():
        if name == "direct":
            continue
        line = (f"{name:10} vs direct: RTT {_ratio(f.rtt_p50_us, direct.rtt_p50_us)}, "
                f"throughput {_ratio(f.throughput_mb_s, direct.throughput_mb_s)}")
        if real is not None and name != "toxiproxy":
            added, real_added = (f.rtt_p50_us - direct.rtt_p50_us,
                                 real.rtt_p50_us - direct.rtt_p50_us)
            line += (f" | vs toxiproxy: RTT {_ratio(f.rtt_p50_us, real.rtt_p50_us)}, "
                     f"added p50 {_ratio(added, real_added)}, "
                     f"throughput {_ratio(f.throughput_mb_s, real.throughput_mb_s)}")
        lines.append(line)
    return "\n".join(lines)


def accuracy_report(results: dict[str, list[Accuracy]]) -> str:
    """Overshoot of each timed toxic over its nominal value, ms (p50 and p99 per server)."""
    names = list(results)
    head = f"{'toxic':20}" + "".join(f" {name + ' p50':>15} {'p99':>7}" for name in names)
    lines = ["", "Toxic accuracy: observed minus nominal, ms (fewer samples where noted)",
             head, "-" * len(head)]
    notes = []
    for row in range(len(next(iter(results.values()), []))):
        toxic = results[names[0]][row]
        cells = ""
        for name in names:
            got = results[name][row]
            if got.overshoot_ms:
                cells += (f" {statistics.median(got.overshoot_ms):+15.1f}"
                          f" {_percentile(got.overshoot_ms, 0.99):+7.1f}")
            else:
                cells += f" {'-':>15} {'-':>7}"
            if got.stuck:
                notes.append(f"{name}: {toxic.toxic}: sample {len(got.overshoot_ms) + 1} had "
                             "not ended after 10x its value; measuring it stopped there")
        lines.append(f"{toxic.toxic:20}{cells}")
    return "\n".join(lines + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxy", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3000, help="round trips per target")
    parser.add_argument("--accuracy-samples", type=int, default=ACCURACY_SAMPLES,
                        help="samples per timed toxic")
    parser.add_argument("--backend", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.backend:
        asyncio.run(_backend())
        return 0
    backend_argv = [sys.executable, "-m", "benchmarks.proxy", "--backend"]
    found = find_toxiproxy()
    binary = found.binary if found is not None else None
    if binary is None:
        print("real toxiproxy not found (CHAOSKIT_TOXIPROXY_SERVER); comparing to direct only")
    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(_process(backend_argv, None))
        assert backend.stdout is not None
        echo_port, sink_port = map(int, backend.stdout.readline().split())
        apis = {"embedded": stack.enter_context(embedded_server())}
        if binary is not None:
            apis["toxiproxy"] = stack.enter_context(real_toxiproxy(binary))
        clients = {name: stack.enter_context(httpx.Client(base_url=url, timeout=10))
                   for name, url in apis.items()}
        targets = {"direct": (echo_port, sink_port)}
        targets |= {name: create_proxies(api, echo_port, sink_port)
                    for name, api in clients.items()}
        results = measure_all(targets, args.rounds)
        accuracy: dict[str, list[Accuracy]] = {}
        for name, api in clients.items():
            p50, p99 = latency_toxic(api, targets[name][0], results["direct"].rtt_p50_us)
            results[name].latency100_p50_ms, results[name].latency100_p99_ms = p50, p99
            accuracy[name] = toxic_accuracy(api, echo_port, args.accuracy_samples)
    print(report(results))
    print(accuracy_report(accuracy))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
