"""``chaoskit proxy serve`` as a real subprocess, driven by toxiproxy-python unchanged."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from toxiproxy import Toxiproxy

from tests.integration.proxy.proxy_sockets import TcpServer, connect, round_trip

pytestmark = pytest.mark.integration

CHAOSKIT = Path(sys.executable).with_name("chaoskit")


def _port() -> int:
    """18474 as documented, unless something already holds it."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 18474))
            return 18474
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])


def test_cli_server_with_toxiproxy_python(echo_server: TcpServer) -> None:
    port = _port()
    process = subprocess.Popen([str(CHAOSKIT), "proxy", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert ready.strip() == f"chaoskit proxy server listening on http://127.0.0.1:{port}"
        client = Toxiproxy()
        client.update_api_consumer("127.0.0.1", port)
        assert client.running()
        proxy = client.create(upstream=echo_server.address, name="cli")
        proxy.add_toxic(type="latency", attributes={"latency": 100})
        with connect(proxy.listen) as sock:
            assert round_trip(sock) >= 0.100
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(10) == b""  # the server closed its connections on the way out
        with pytest.raises(ConnectionRefusedError), connect(proxy.listen):
            pass
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/version")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()


def test_python_m_chaoskit_and_sigint() -> None:
    process = subprocess.Popen([sys.executable, "-m", "chaoskit", "proxy", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().rsplit(" ", 1)[1]
        assert httpx.get(f"{url}/version").json()["version"] == "2.12.0-chaoskit"
        start = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert time.monotonic() - start < 5
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stdout:
            process.stdout.close()


def test_cli_port_in_use_is_a_clean_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([str(CHAOSKIT), "proxy", "serve", "--port", str(port)],
                                capture_output=True, text=True, timeout=20)
    assert result.returncode == 4
    assert "cannot serve the proxy API" in result.stderr and "Traceback" not in result.stderr
