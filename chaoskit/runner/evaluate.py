"""Taking readings of the steady state and the guardrails, and recording them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chaoskit.context import RunContext
from chaoskit.errors import ChaoskitError, ObserverError
from chaoskit.model.experiment import SteadyStateProbe
from chaoskit.model.history import Phase, ProbeReading, ReadingRole
from chaoskit.probes import build_probe
from chaoskit.probes.base import Reading

Role = ReadingRole


async def take_readings(
    ctx: RunContext,
    probes: Sequence[SteadyStateProbe],
    *,
    phase: Phase,
    role: Role,
    since: float | None = None,
    window: float | None = None,
    detail: str = "",
) -> list[tuple[ProbeReading, Reading]]:
    """Read every probe concurrently, record each reading, return them in order.

    A probe that fails to read gives a reading of ``None``, which no tolerance
    accepts: a blind probe is never taken for a healthy system. When the measuring
    tool itself failed (:class:`ObserverError`) the readings are recorded and the error
    is raised: the run ends in error, not in a verdict about the system.
    """
    results = await asyncio.gather(
        *(build_probe(p.probe).read(ctx, since=since, window=window) for p in probes),
        return_exceptions=True,
    )
    readings = []
    blind: ObserverError | None = None
    for probe, result in zip(probes, results, strict=True):
        if isinstance(result, ObserverError):
            blind = blind or result
            result = Reading(None, f"probe failed: {result}")
        elif isinstance(result, ChaoskitError | OSError):
            result = Reading(None, f"probe failed: {result}")
        elif isinstance(result, BaseException):
            raise result
        text = "; ".join(x for x in (detail, result.detail) if x)
        event = ProbeReading(
            phase=phase, role=role, name=probe.name,
            value=result.value, ok=probe.accepts(result.value),
            tolerance=probe.tolerance, detail=text,
        )
        ctx.record(event)
        readings.append((event, result))
    if blind is not None:
        raise blind  # the tool failed, not the system: no verdict about the system
    return readings
