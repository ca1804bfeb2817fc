"""Which hosts a probe may reach: loopback, and what ``settings.allow_hosts`` lists."""

from __future__ import annotations

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

