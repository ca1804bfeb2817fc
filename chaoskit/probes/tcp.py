"""TCP probe: connect to the selected instances' named port (or one address) and close.

The reading is the share of targets accepting within the timeout, or a connect
time percentile of those that accepted. Every selected instance counts, whatever
state the platform reports: one that is down simply does not accept.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from chaoskit.context import RunContext
from chaoskit.errors import ProbeError
from chaoskit.model.probes import TcpProbe
from chaoskit.probes.base import Reading
from chaoskit.probes.hosts import check_host


class TcpConnect:
    def __init__(self, spec: TcpProbe) -> None:
        self.spec = spec

    def targets(self, ctx: RunContext) -> list[tuple[str, str, int]]:
        """``(label, host, port)`` of every target."""
        spec = self.spec
        if spec.address is not None:
            host, _, number = spec.address.rpartition(":")
            check_host(ctx, host, f"tcp probe {spec.address}")
            return [(spec.address, host, int(number))]
        targets = []
        for launch in ctx.launches:
            if not spec.selector.matches(launch.instance):
                continue
            if spec.port is None:
                port = launch.port
            elif spec.port in launch.ports:
                port = launch.ports[spec.port]
            else:
                raise ProbeError(f"tcp probe: {launch.instance.id} has no port {spec.port!r}; "
                                 f"it has {', '.join(launch.ports)}")
            targets.append((launch.instance.id, launch.host, port))
        return targets

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        try:
            targets = self.targets(ctx)
        except ProbeError as error:
            return Reading(None, str(error))
        if not targets:
            return Reading(None, f"tcp probe: no instance matches {self.spec.selector.describe()}")
        times = await asyncio.gather(*(connect_ms(host, port, self.spec.timeout)
                                       for _, host, port in targets))
        accepted = sorted(t for t in times if t is not None)
        refused = [label for (label, _, _), t in zip(targets, times, strict=True) if t is None]
        detail = f"{len(accepted)}/{len(targets)} accepted" + (
            f" ({', '.join(refused[:5])}{' ...' if len(refused) > 5 else ''} did not)"
            if refused else "")
        if self.spec.value == "accepting":
            return Reading(len(accepted) / len(targets), detail)
        if not accepted:
            return Reading(None, detail)
        quantile = {"connect_p50_ms": 0.5, "connect_p99_ms": 0.99, "connect_max_ms": 1.0}
        value = nearest_rank(accepted, quantile[self.spec.value])
        return Reading(value, f"{detail}; {self.spec.value} {value:.2f}")


async def connect_ms(host: str, port: int, timeout: float) -> float | None:
    """Milliseconds until ``host:port`` accepted a connection, or None if it did not."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return None
    elapsed = (time.perf_counter() - started) * 1000
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return elapsed


def nearest_rank(ordered: list[float], q: float) -> float:
    """The nearest-rank quantile of an ascending list."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
