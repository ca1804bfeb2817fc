"""Which proxy server carries the links: the embedded one or a real ``toxiproxy-server``.

The real one is found, in order: ``CHAOSKIT_TOXIPROXY_URL`` (a server already
running; chaoskit neither starts nor stops it), ``CHAOSKIT_TOXIPROXY_SERVER``
(a binary), ``toxiproxy-server`` on PATH, then ``~/go/bin/server`` (``go
install …/cmd/server`` names it ``server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from chaoskit.errors import ProxyError
from chaoskit.httpclient import http_client
from chaoskit.proxy.server import ProxyServer, start_embedded_subprocess, stop_embedded_subprocess
from chaoskit.state import RunState

ServerKind = Literal["embedded", "toxiproxy"]
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class ToxiproxyBinary:
    """Where the real server is: a running URL or a binary to start."""

    url: str | None = None
    binary: str | None = None


def find_toxiproxy() -> ToxiproxyBinary | None:
    """The real Toxiproxy to use, or None when there is none on this machine."""
    url = os.environ.get("CHAOSKIT_TOXIPROXY_URL")
    if url:
        return ToxiproxyBinary(url=url.rstrip("/"))
    candidates = [os.environ.get("CHAOSKIT_TOXIPROXY_SERVER"), shutil.which("toxiproxy-server"),
                  str(Path.home() / "go" / "bin" / "server")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return ToxiproxyBinary(binary=candidate)
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ProxyServerHandle:
    """A running proxy server: its API ``url`` and how to stop it."""

    def __init__(self, kind: ServerKind, url: str) -> None:
        self.kind = kind
        self.url = url

    async def close(self) -> None:
        """Stop what this handle started (nothing for an external URL)."""

    async def __aenter__(self) -> ProxyServerHandle:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _InProcess(ProxyServerHandle):
    def __init__(self, server: ProxyServer) -> None:
        super().__init__("embedded", server.url)
        self._server = server

    async def close(self) -> None:
        await self._server.close()


class _Child(ProxyServerHandle):
    def __init__(self, kind: ServerKind, url: str, process: asyncio.subprocess.Process,
                 state: RunState | None) -> None:
        super().__init__(kind, url)
        self.process = process
        self._state = state

    async def close(self) -> None:
        await stop_embedded_subprocess(self.process, self._state)


async def start_toxiproxy(binary: ToxiproxyBinary, state: RunState | None = None,
                          host: str = "127.0.0.1") -> ProxyServerHandle:
    """Use a running Toxiproxy, or start the binary on ``host`` and a free port."""
    if binary.url is not None:
        await wait_ready(binary.url, START_TIMEOUT)
        return ProxyServerHandle("toxiproxy", binary.url)
    assert binary.binary is not None
    port = free_port(host)
    process = await asyncio.create_subprocess_exec(
        binary.binary, "-host", host, "-port", str(port),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
        # The run marker, so rollback finds it even before its pid is recorded.
        env=state.spawn_env() if state is not None else None)
    if state is not None:
        state.add_process(process.pid, "proxy-server")
    handle = _Child("toxiproxy", f"http://{host}:{port}", process, state)
    try:
        await wait_ready(handle.url, START_TIMEOUT, process)
    except ProxyError:
        await handle.close()
        raise
    return handle


async def wait_ready(url: str, timeout: float,
                     process: asyncio.subprocess.Process | None = None) -> None:
    """Poll ``/version`` until it answers; ``ProxyError`` on timeout or if ``process`` exits."""
    deadline = time.monotonic() + timeout
    async with http_client(timeout=1.0, headers={"User-Agent": "chaoskit"}) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/version")).status_code == 200:
                    return
            if process is not None and process.returncode is not None:
                raise ProxyError(f"toxiproxy server exited with {process.returncode} at start")
            if time.monotonic() > deadline:
                raise ProxyError(f"proxy server at {url} did not answer within {timeout:.0f}s")
            await asyncio.sleep(0.05)


async def open_proxy_server(kind: ServerKind, state: RunState | None = None, *,
                            in_process: bool = True, log: Path | None = None
                            ) -> ProxyServerHandle:
    """Start the proxy server a run asked for (``--proxy embedded|toxiproxy``).

    The embedded server runs in this process by default, or as a child process
    with ``in_process=False``; the real one needs :func:`find_toxiproxy`.
    """
    if kind == "embedded":
        if in_process:
            server = ProxyServer()
            await server.start("127.0.0.1", 0)
            return _InProcess(server)
        url, process = await start_embedded_subprocess(state, log=log)
        return _Child("embedded", url, process, state)
    binary = find_toxiproxy()
    if binary is None:
        raise ProxyError("no toxiproxy server: set CHAOSKIT_TOXIPROXY_URL or "
                         "CHAOSKIT_TOXIPROXY_SERVER, or put toxiproxy-server on PATH")
    return await start_toxiproxy(binary, state)

