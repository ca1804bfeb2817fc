"""Each toxic's measured effect on real sockets through both servers (127.0.0.1 only).

A lower bound proves the toxic acts (100 ms of latency is never under 100 ms) and holds
for every sample. An upper bound only proves the toxic ends: it is ``SLACK`` times the
toxic's own value, so a loaded 2-core machine (or a neighbour's test run) stalling a
sample cannot trip it. How close each toxic comes to its nominal value (Toxiproxy's tests
hold latency within +10 ms and bandwidth within 10 %) is measured by the benchmark,
``python -m benchmarks.proxy``, not asserted here.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import time

import pytest

from tests.integration.proxy.proxy_sockets import (
    Server,
    TcpServer,
    connect,
    greet_and_close,
    recv_exactly,
    recv_until_eof,
    round_trip,
)

pytestmark = pytest.mark.integration


SLACK = 10
"""An upper bound is this many times the toxic's value: it catches a toxic that never
ends (or applies once per chunk), not one that is some milliseconds late."""


def proxied(server: Server, upstream: TcpServer, name: str = "p") -> str:
    listen = server.create(name, upstream.address)["listen"]
    assert isinstance(listen, str)
    return listen


def median_rtt(sock: socket.socket, count: int = 5) -> float:
    return statistics.median(round_trip(sock) for _ in range(count))


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_latency(server: Server, echo_server: TcpServer, stream: str) -> None:
    listen = proxied(server, echo_server)
    with connect(listen) as sock:
        base = median_rtt(sock)
        server.add_toxic("p", type="latency", stream=stream, attributes={"latency": 100})
        rtts = [round_trip(sock) for _ in range(5)]
    assert min(rtts) >= 0.100, rtts
    assert statistics.median(rtts) <= 0.100 * SLACK + base, rtts


def test_latency_both_ways_adds_up(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="latency", stream="upstream", attributes={"latency": 50})
    server.add_toxic("p", type="latency", stream="downstream", attributes={"latency": 50})
    with connect(listen) as sock:
        rtts = [round_trip(sock) for _ in range(3)]
    assert min(rtts) >= 0.100 and statistics.median(rtts) <= 0.100 * SLACK, rtts


def test_latency_jitter_stays_in_range(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="latency", attributes={"latency": 60, "jitter": 20})
    with connect(listen) as sock:
        rtts = [round_trip(sock) for _ in range(8)]
    assert min(rtts) >= 0.040 and statistics.median(rtts) <= 0.080 * SLACK, rtts
    assert max(rtts) - min(rtts) > 0.005, rtts  # uniform over 40 ms: the samples spread


def test_latency_does_not_accumulate_on_queued_chunks(server: Server,
                                                      echo_server: TcpServer) -> None:
    """Twenty writes in a burst arrive about 100 ms later, not 20 x 100 ms."""
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="latency", attributes={"latency": 100})
    with connect(listen) as sock:
        start = time.monotonic()
        for i in range(20):
            sock.sendall(b"%03d" % i)
            time.sleep(0.005)
        data = recv_exactly(sock, 60)
        elapsed = time.monotonic() - start
    assert data == b"".join(b"%03d" % i for i in range(20))
    # About 0.2 s (the writes, then 100 ms); accumulating would take 2 s or more.
    assert 0.100 <= elapsed < 1.5, elapsed


def test_bandwidth(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="bandwidth", attributes={"rate": 200})  # 200 KB/s
    payload = bytes(range(256)) * 400  # 102,400 bytes: 0.512 s at 200,000 B/s
    with connect(listen) as sock:
        start = time.monotonic()
        sock.sendall(payload)
        data = recv_exactly(sock, len(payload))
        elapsed = time.monotonic() - start
    assert data == payload
    expected = len(payload) / 200_000
    assert expected * 0.9 <= elapsed <= expected * SLACK, elapsed


def test_reset_peer(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="reset_peer", stream="upstream", attributes={"timeout": 100})
    with connect(listen) as sock:
        start = time.monotonic()
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
        elapsed = time.monotonic() - start
    assert 0.090 <= elapsed <= 0.100 * SLACK, elapsed


def test_reset_peer_added_on_a_live_connection(server: Server, echo_server: TcpServer) -> None:
    """Toxiproxy only sets SO_LINGER 0 when a link starts, so a live connection gets a FIN;
    the embedded server resets live connections too."""
    listen = proxied(server, echo_server)
    with connect(listen) as sock:
        round_trip(sock)
        server.add_toxic("p", type="reset_peer", stream="upstream", attributes={"timeout": 0})
        sock.sendall(b"hello")
        if server.kind == "embedded":
            with pytest.raises(ConnectionResetError):
                sock.recv(100)
        else:
            assert sock.recv(100) == b""


def test_timeout_holds_then_closes(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="timeout", attributes={"timeout": 200})
    with connect(listen) as sock:
        start = time.monotonic()
        sock.sendall(b"hello")
        assert recv_until_eof(sock) == b""  # data dropped, then closed
        elapsed = time.monotonic() - start
    assert 0.190 <= elapsed <= 0.200 * SLACK, elapsed


def test_timeout_zero_holds_until_removed(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="timeout", attributes={"timeout": 0})
    with connect(listen) as sock:
        sock.sendall(b"hello")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(100)
        sock.settimeout(2)
        server.http.delete("/proxies/p/toxics/timeout_downstream")
        assert recv_until_eof(sock) == b""  # removing a timeout closes the connection


def test_limit_data(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="limit_data", attributes={"bytes": 10})
    with connect(listen) as sock:
        sock.sendall(b"0123456789abcdefghij")
        assert recv_until_eof(sock) == b"0123456789"


def test_limit_data_across_chunks(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="limit_data", attributes={"bytes": 7})
    with connect(listen) as sock:
        round_trip(sock, b"abcd")
        sock.sendall(b"efghij")
        assert recv_until_eof(sock) == b"efg"  # 4 + 3 = 7 bytes downstream, then closed


def test_slicer_delivers_every_byte(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="slicer", attributes={"average_size": 64, "size_variation": 16,
                                                     "delay": 100})
    payload = bytes(range(256)) * 40
    with connect(listen) as sock:
        sock.sendall(payload)
        data = recv_exactly(sock, len(payload))
    assert data == payload


def test_slicer_cuts_into_small_reads(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="slicer", attributes={"average_size": 10, "delay": 20_000})
    with connect(listen) as sock:
        sock.sendall(b"x" * 40)
        first = sock.recv(100)
        assert 1 <= len(first) <= 10
        assert len(first) + len(recv_exactly(sock, 40 - len(first))) == 40


def test_slow_close(server: Server) -> None:
    greeter = TcpServer(greet_and_close)
    try:
        listen = proxied(server, greeter)
        server.add_toxic("p", type="slow_close", attributes={"delay": 300})
        with connect(listen) as sock:
            start = time.monotonic()
            assert recv_exactly(sock, 5) == b"hello"
            assert recv_until_eof(sock) == b""
            elapsed = time.monotonic() - start
        assert 0.290 <= elapsed <= 0.300 * SLACK, elapsed
    finally:
        greeter.close()


def test_noop_and_zero_toxicity_pass_through(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="noop")
    # Applied, the latency would hold every round trip 3 s: far from a loaded machine's RTT.
    server.add_toxic("p", type="latency", toxicity=0.0, attributes={"latency": 3000})
    with connect(listen) as sock:
        assert median_rtt(sock) < 1.0


def test_upstream_down_closes_the_client(server: Server) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{unused.getsockname()[1]}"
    listen = server.create("p", dead)["listen"]
    assert isinstance(listen, str)
    with connect(listen) as sock, contextlib.suppress(ConnectionResetError):
        # Accepted, then closed (or reset): the client learns at once that nobody is there.
        assert sock.recv(10) == b""
