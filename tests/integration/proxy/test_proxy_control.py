"""Control semantics on live connections: enable/disable, live toxic changes, reset, delete."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from tests.integration.proxy.proxy_sockets import (
    Server,
    TcpServer,
    connect,
    recv_exactly,
    recv_until_eof,
    round_trip,
)

pytestmark = pytest.mark.integration


# What Toxiproxy does not do by design (it would stall or is not its behaviour): these
# run against the embedded server only, rather than showing up as skips.
EMBEDDED_ONLY = pytest.mark.parametrize("proxy_server", ["embedded"], indirect=True)


FAST = 0.25
"""A round trip with no latency toxic is under this even on a loaded machine; the toxics
that must be seen gone hold for ``SLOW`` (twice as long), so the two cannot be confused."""
SLOW = 500
"""Milliseconds of the latency toxic whose presence or absence a test checks."""


def proxied(server: Server, upstream: TcpServer) -> str:
    listen = server.create("p", upstream.address)["listen"]
    assert isinstance(listen, str)
    return listen


def closed_by_proxy(sock: object) -> bool:
    try:
        return sock.recv(10) == b""  # type: ignore[attr-defined, no-any-return]
    except ConnectionResetError:
        return True


def test_disable_closes_listener_and_connections(server: Server,
                                                 echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    with connect(listen) as sock:
        round_trip(sock)
        assert server.http.patch("/proxies/p", json={"enabled": False}).status_code == 200
        assert closed_by_proxy(sock)
    with pytest.raises(ConnectionRefusedError), connect(listen):
        pass
    body = server.http.patch("/proxies/p", json={"enabled": True}).json()
    assert body["listen"] == listen  # the same port again
    with connect(listen) as sock:
        assert round_trip(sock) < 1


def test_disable_keeps_toxics(server: Server, echo_server: TcpServer) -> None:
    proxied(server, echo_server)
    server.add_toxic("p", type="noop")
    server.http.patch("/proxies/p", json={"enabled": False})
    assert len(server.http.get("/proxies/p/toxics").json()) == 1


def test_delete_closes_connections(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    with connect(listen) as sock:
        round_trip(sock)
        server.http.delete("/proxies/p")
        assert closed_by_proxy(sock)
    with pytest.raises(ConnectionRefusedError), connect(listen):
        pass


def test_live_add_and_remove(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    with connect(listen) as sock:
        assert round_trip(sock) < FAST
        server.add_toxic("p", type="latency", attributes={"latency": SLOW})
        assert round_trip(sock) >= SLOW / 1000
        server.http.delete("/proxies/p/toxics/latency_downstream")
        assert round_trip(sock) < FAST


def test_live_update(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="latency", attributes={"latency": 50})
    with connect(listen) as sock:
        assert 0.050 <= round_trip(sock) < SLOW / 1000
        server.http.patch("/proxies/p/toxics/latency_downstream",
                          json={"attributes": {"latency": SLOW}})
        assert round_trip(sock) >= SLOW / 1000


def test_removal_flushes_held_data(server: Server, echo_server: TcpServer) -> None:
    """Data held by a toxic is delivered at once when it is removed, not dropped."""
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="latency", attributes={"latency": 10_000})
    with connect(listen, timeout=15) as sock:
        start = time.monotonic()
        sock.sendall(b"held")
        time.sleep(0.1)
        server.http.delete("/proxies/p/toxics/latency_downstream")
        assert recv_exactly(sock, 4) == b"held"
        assert time.monotonic() - start < 5.0  # held to the end, it would take 10 s


def test_no_data_dropped_or_reordered_under_toggling(server: Server,
                                                     echo_server: TcpServer) -> None:
    """Toxiproxy's TestNoDataDropped, shortened: toggle a latency toxic while data streams."""
    listen = proxied(server, echo_server)
    count = 20_000
    payload = b"".join(b"%06d" % i for i in range(count))
    with connect(listen, timeout=10) as sock:
        received = bytearray()

        def read() -> None:
            while len(received) < len(payload):
                chunk = sock.recv(65536)
                if not chunk:
                    return
                received.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        writer = threading.Thread(target=lambda: [
            sock.sendall(payload[i:i + 600]) for i in range(0, len(payload), 600)])
        writer.start()
        for _ in range(15):
            server.add_toxic("p", type="latency", attributes={"latency": 5})
            time.sleep(0.01)
            server.http.delete("/proxies/p/toxics/latency_downstream")
        writer.join(10)
        reader.join(10)
    assert bytes(received) == payload


def test_reset_restores_a_live_connection(server: Server, echo_server: TcpServer) -> None:
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="latency", attributes={"latency": SLOW})
    with connect(listen) as sock:
        assert round_trip(sock) >= SLOW / 1000
        assert server.http.post("/reset").status_code == 204
        assert round_trip(sock) < FAST


@EMBEDDED_ONLY
def test_api_answers_while_a_link_is_stuck(server: Server, echo_server: TcpServer) -> None:
    """A client that never reads must not stall toxic changes.

    Toxiproxy's API waits for every link and stalls here (#558: 503 after 25 s),
    which would poison the rest of the session, so it is only run against embedded.
    """
    listen = proxied(server, echo_server)
    server.add_toxic("p", type="latency", attributes={"latency": 10})
    with connect(listen) as sock:
        sock.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            try:
                sent += sock.send(b"x" * 65536)
            except BlockingIOError:
                time.sleep(0.01)
        start = time.monotonic()
        assert server.http.delete("/proxies/p/toxics/latency_downstream").status_code == 204
        assert server.http.get("/proxies/p").status_code == 200
        assert time.monotonic() - start < 2
        assert sent > 0


def test_half_close_is_passed_on(server: Server, echo_server: TcpServer) -> None:
    """The client shuts down writing; the echo still answers, then closes."""
    listen = proxied(server, echo_server)
    with connect(listen) as sock:
        sock.sendall(b"last words")
        sock.shutdown(1)  # SHUT_WR
        data = recv_until_eof(sock)
    if server.kind == "embedded":
        assert data == b"last words"
    else:
        assert data in (b"", b"last words")  # Toxiproxy closes upstream fully on EOF


def _unanswering_listener() -> list[socket.socket]:
    """A 127.0.0.1 listener whose backlog is full, so further connects hang (SYNs dropped).

    Returns the listener first, then the connections filling its backlog."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    sockets = [listener]
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(listener.getsockname())
        sockets.append(filler)
    return sockets


@EMBEDDED_ONLY
def test_a_hanging_upstream_dial_times_out_off_the_accept_path(
        server: Server, echo_server: TcpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Toxiproxy dials inside its accept loop with no timeout; embedded does neither."""
    monkeypatch.setattr("chaoskit.proxy.server.connection.DIAL_TIMEOUT", 1.5)
    sockets = _unanswering_listener()
    try:
        stuck = server.create("stuck", f"127.0.0.1:{sockets[0].getsockname()[1]}")["listen"]
        assert isinstance(stuck, str)
        listen = proxied(server, echo_server)
        with connect(stuck) as hanging:
            start = time.monotonic()
            with connect(listen) as sock:  # another proxy is not held up meanwhile
                assert round_trip(sock) < 1.0
            with contextlib.suppress(ConnectionResetError):
                assert hanging.recv(10) == b""  # given up: the client is closed
            # Never given up, the recv above would time out after connect()'s 5 s.
            assert 1.2 <= time.monotonic() - start < 5
    finally:
        for sock in sockets:
            sock.close()


def _flood(conn: socket.socket) -> None:
    block = b"z" * 65536
    while True:
        conn.sendall(block)


@EMBEDDED_ONLY
def test_disable_aborts_a_connection_whose_client_never_reads(server: Server) -> None:
    """Closing must not wait forever for a reader that never drains what is queued for it."""
    flood = TcpServer(_flood)
    try:
        listen = proxied(server, flood)
        with connect(listen) as sock:
            time.sleep(0.3)  # let the proxy's buffer towards this client fill up
            server.http.patch("/proxies/p", json={"enabled": False})
            time.sleep(1.5)  # past the 1 s grace
            with pytest.raises(ConnectionResetError):
                while sock.recv(1 << 20):
                    pass
    finally:
        flood.close()
