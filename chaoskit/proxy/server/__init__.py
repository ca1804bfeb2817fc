"""The embedded Toxiproxy-compatible server (the v2.12 HTTP API, asyncio).

Drop-in for ``toxiproxy-server`` with the same API and toxics, plus attribute
validation, upstream dials off the accept path with a timeout, and API calls
that never wait on a connection. Run it with :func:`serve` (the CLI's
``chaoskit proxy serve``), in-process with :class:`ProxyServer`, or as a child
process with :func:`start_embedded_subprocess`.
"""

from __future__ import annotations

from chaoskit.proxy.server.app import ProxyServer, serve
from chaoskit.proxy.server.process import start_embedded_subprocess, stop_embedded_subprocess

__all__ = ["ProxyServer", "serve", "start_embedded_subprocess", "stop_embedded_subprocess"]
