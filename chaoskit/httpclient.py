"""The one way chaoskit makes an httpx client for its own calls: probes, fault controls,
the proxy and Prometheus APIs. (Health checks, the hottest path, use aiohttp: see
``chaoskit.platform.health``.)

A fresh ``httpx.AsyncClient`` builds a TLS context, loading the CA bundle: 27 ms of CPU
here on an idle machine, taken on the event loop, although nearly every call goes to
127.0.0.1 over plain HTTP. Restarting a zone's thirteen instances once built thirteen at
once (one per health check); on a machine busy with a second run that held the loop (and
the load samples waiting on it) for seconds, and a guardrail took the gap for missing
data (CI, 2026-12-01). The context is built once per process and shared: 0.04 ms per client.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The default verifying context (certifi's bundle), built on first use."""
    return httpx.create_ssl_context()


def http_client(*, timeout: float, base_url: str = "", trust_env: bool = True,
                headers: Mapping[str, str] | None = None) -> httpx.AsyncClient:
    """An async client on the shared TLS context; use it as an async context manager."""
    return httpx.AsyncClient(timeout=timeout, base_url=base_url, trust_env=trust_env,
                             headers=headers, verify=tls_context())
