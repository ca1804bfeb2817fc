"""The embedded Toxiproxy-compatible server (the v2.12 HTTP API, asyncio).

Drop-in for ``toxiproxy-server``: same paths, status codes, JSON shapes and
toxics (checked by tests/integration/proxy against the real binary). Run it
with :func:`serve` (the CLI's ``chaoskit proxy serve``), in-process with
:class:`ProxyServer`, or as a child process with :func:`start_embedded_subprocess`.

Where it differs from Toxiproxy, on purpose:

* attributes and toxicity are validated (400) instead of accepted and then
  hanging or panicking on traffic (bandwidth rate 0, slicer average_size 0…);
* the upstream dial happens off the accept path, with a 10 s timeout;
* API calls never wait on a connection (Toxiproxy #558 stalls);
* EOF is passed on as a half-close instead of a full close;
* reset_peer sends its RST on connections that were open before it was added,
  and not when toxicity skipped it (#603); removing it in time cancels it;
* error bodies are served as ``application/json`` (Toxiproxy says text/plain);
* an empty ``listen`` binds 127.0.0.1, not every interface;
* ``/version`` says ``2.12.0-chaoskit``; there is no ``/metrics``.
"""

from __future__ import annotations

from chaoskit.proxy.server.app import ProxyServer, serve
from chaoskit.proxy.server.process import start_embedded_subprocess, stop_embedded_subprocess

__all__ = ["ProxyServer", "serve", "start_embedded_subprocess", "stop_embedded_subprocess"]
