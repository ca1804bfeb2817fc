"""Both proxy servers behind one fixture, so every conformance test runs against each.

``embedded`` runs chaoskit's server on its own event loop in a thread;
``toxiproxy`` starts the real binary (see chaoskit.proxy.servers.find_toxiproxy)
or uses ``CHAOSKIT_TOXIPROXY_URL``, and skips when there is none.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from toxiproxy import Toxiproxy

from chaoskit.proxy.server import ProxyServer
from chaoskit.proxy.servers import find_toxiproxy, free_port
from tests.integration.proxy.proxy_sockets import Server, TcpServer, echo


class _ThreadedEmbedded:
    """The embedded server on a private event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = ProxyServer()
        self.url = asyncio.run_coroutine_threadsafe(
            self.server.start("127.0.0.1", 0), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@contextlib.contextmanager
def _real_toxiproxy() -> Iterator[str]:
    found = find_toxiproxy()
    if found is None:
        pytest.skip("real toxiproxy not found: set CHAOSKIT_TOXIPROXY_SERVER or "
                    "CHAOSKIT_TOXIPROXY_URL, or install toxiproxy-server")
    if found.url is not None:
        yield found.url
        return
    assert found.binary is not None
    port = free_port()
    process = subprocess.Popen([found.binary, "-host", "127.0.0.1", "-port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/version", timeout=1).status_code == 200:
                    break
            assert process.poll() is None, "toxiproxy server exited at start"
            assert time.monotonic() < deadline, "toxiproxy server did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session", params=["embedded", "toxiproxy"])
def proxy_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == "embedded":
        embedded = _ThreadedEmbedded()
        try:
            with httpx.Client(base_url=embedded.url, timeout=10) as http:
                yield Server("embedded", embedded.url, http)
        finally:
            embedded.close()
    else:
        with _real_toxiproxy() as url, httpx.Client(base_url=url, timeout=10) as http:
            yield Server("toxiproxy", url, http)


@pytest.fixture
def server(proxy_server: Server) -> Iterator[Server]:
    """A server with no proxies; every proxy a test made is deleted afterwards."""
    yield proxy_server
    proxy_server.http.post("/reset")
    for name in proxy_server.http.get("/proxies").json():
        proxy_server.http.delete(f"/proxies/{name}")


@pytest.fixture
def tp(server: Server) -> Toxiproxy:
    """The real toxiproxy-python client, pointed at this server (it keeps class globals)."""
    client = Toxiproxy()
    client.update_api_consumer(server.host, server.port)
    return client


@pytest.fixture
def echo_server() -> Iterator[TcpServer]:
    srv = TcpServer(echo)
    yield srv
    srv.close()
