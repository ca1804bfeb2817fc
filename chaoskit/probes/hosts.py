"""Which hosts a probe may reach: loopback, and what ``settings.allow_hosts`` lists."""

from __future__ import annotations

import functools
import ssl

import httpx

from chaoskit.context import RunContext
from chaoskit.errors import ProbeError
from chaoskit.probes.urls import LOOPBACK


def check_host(ctx: RunContext, host: str, what: str) -> None:
    """Raise a ProbeError naming ``what`` unless the run may send traffic to ``host``."""
    allows = getattr(ctx.experiment.settings, "allows", None)
    allowed = allows(host) if callable(allows) else host in LOOPBACK
    if not allowed:
        raise ProbeError(f"{what}: {host} is not on 127.0.0.1 (list other hosts in "
                         "settings.allow_hosts)")


@functools.cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(timeout: float) -> httpx.AsyncClient:
    """A client for one reading. The TLS context is built once per process: building it
    (loading the CA bundle) is most of a fresh client's cost, ~30-150 ms, per reading."""
    return httpx.AsyncClient(timeout=timeout, verify=_tls())
