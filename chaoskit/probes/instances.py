"""Instances probe: how many selected instances are up right now."""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.model.probes import InstancesProbe
from chaoskit.platform.base import InstanceState
from chaoskit.probes.base import Reading


class InstancesUp:
    def __init__(self, spec: InstancesProbe) -> None:
        self.spec = spec

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        selected = [s for s in ctx.platform.status() if self.spec.selector.matches(s.instance)]
        up = [s for s in selected if s.state == InstanceState.UP]
        return Reading(float(len(up)), f"{len(up)}/{len(selected)} up")
