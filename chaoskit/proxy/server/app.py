"""Running the embedded server: in-process (:class:`ProxyServer`) or blocking (:func:`serve`)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from chaoskit.errors import ProxyError
from chaoskit.proxy.server.api import build_app
from chaoskit.proxy.server.collection import ProxyCollection

READY_PREFIX = "chaoskit proxy server listening on "
"""Printed by :func:`serve` once the API accepts requests (the subprocess starter waits for it)."""


class ProxyServer:
    """The embedded Toxiproxy-compatible server on the running event loop.

    >>> server = ProxyServer()
    >>> url = await server.start("127.0.0.1")      # port 0: any free port
    >>> ...                                         # drive it with any Toxiproxy client
    >>> await server.close()                        # closes every proxy and connection
    """

    def __init__(self) -> None:
        self.collection = ProxyCollection()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the API on ``host:port``; returns its base URL (``http://host:port``)."""
        runner = web.AppRunner(build_app(self.collection), access_log=None,
                               shutdown_timeout=1.0, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise ProxyError(f"cannot serve the proxy API on {host}:{port}: {error}") from None
        self._runner = runner
        bound = runner.addresses[0]
        self.url = f"http://{host}:{bound[1]}" if ":" not in host else f"http://[{host}]:{bound[1]}"
        return self.url

    async def close(self) -> None:
        """Stop every proxy (listeners and connections), then the API."""
        self.collection.close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> ProxyServer:
        if not self.url:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def serve(host: str = "127.0.0.1", port: int = 8474) -> None:
    """Serve until SIGINT or SIGTERM, then close every proxy and connection and return.

    Runs on uvloop when it is installed (about twice the throughput of the
    default loop); ``CHAOSKIT_PROXY_LOOP=asyncio`` forces the default loop.
    """
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(host, port))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    if os.environ.get("CHAOSKIT_PROXY_LOOP", "uvloop") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = ProxyServer()
    url = await server.start(host, port)
    print(f"{READY_PREFIX}{url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()
        print("chaoskit proxy server stopped", file=sys.stderr, flush=True)
