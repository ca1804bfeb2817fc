"""``service://NAME/path`` URLs: the first instance of a service that is up."""

from __future__ import annotations

from urllib.parse import urlsplit

from chaoskit.context import RunContext
from chaoskit.errors import ProbeError
from chaoskit.platform.base import InstanceState

LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")


def resolve_url(ctx: RunContext, url: str) -> str:
    """Turn ``service://gateway/health`` into ``http://127.0.0.1:PORT/health``.

    Plain http URLs must point at this machine: probes never send traffic elsewhere.
    """
    parts = urlsplit(url)
    if parts.scheme == "service":
        up = [s for s in ctx.platform.status()
              if s.instance.service == parts.hostname and s.state == InstanceState.UP]
        if not up:
            raise ProbeError(f"no instance of service {parts.hostname!r} is up")
        query = f"?{parts.query}" if parts.query else ""
        return f"http://{up[0].address}{parts.path}{query}"
    if parts.scheme != "http" or not ctx.experiment.settings.allows(parts.hostname):
        raise ProbeError(f"probe URL {url!r} is not on 127.0.0.1 (list other hosts in "
                         "settings.allow_hosts)")
    return url
