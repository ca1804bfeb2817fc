"""Taking readings of the steady state and the guardrails, and recording them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chaoskit.context import RunContext
from chaoskit.errors import ChaoskitError, ObserverError
from chaoskit.model.experiment import SteadyStateProbe
from chaoskit.model.history import Phase, ProbeReading, ReadingRole
from chaoskit.model.probes import LoadProbe
from chaoskit.probes import build_probe
from chaoskit.probes.base import Probe, Reading
from chaoskit.probes.load import LoadStatistic

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
        *(_probe(p).read(ctx, since=since, window=window) for p in probes),
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
        event = _reading(probe, result, phase=phase, role=role, detail=text)
        ctx.record(event)
        readings.append((event, result))
    if blind is not None:
        raise blind  # the tool failed, not the system: no verdict about the system
    return readings


def _probe(spec: SteadyStateProbe) -> Probe:
    if spec.compare is not None and isinstance(spec.probe, LoadProbe):
        return LoadStatistic(spec.probe, compare=spec.compare)
    return build_probe(spec.probe)


def _reading(spec: SteadyStateProbe, result: Reading, *, phase: Phase, role: Role,
             detail: str) -> ProbeReading:
    """The reading as recorded; a compared one carries both groups and the test, and its
    ``ok`` says whether tolerance and comparison held.

    While waiting for recovery a compared probe holds once the experiment is back within
    the margin of the control: the recovery window (3 s by default) is too short for the
    test ever to find a difference significant, so "not significant" would read as
    recovered at once.
    """
    found = result.comparison
    ok = spec.accepts(result.value)
    if spec.compare is None or found is None:
        # A compared probe that failed to read has no control value: it does not hold.
        return ProbeReading(phase=phase, role=role, name=spec.name, value=result.value,
                            ok=ok and spec.compare is None, tolerance=spec.tolerance,
                            compare=spec.compare, detail=detail)
    held = found.holds
    if role == "recovery":
        held = found.value is not None and found.control is not None \
            and not spec.compare.exceeded(found.value, found.control)
    return ProbeReading(phase=phase, role=role, name=spec.name, value=result.value,
                        ok=ok and held, tolerance=spec.tolerance, detail=detail,
                        compare=spec.compare, control=found.control, p_value=found.p_value,
                        test=found.test, values=found.values,
                        control_values=found.control_values)
