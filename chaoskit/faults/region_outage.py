"""Chaos Kong: a whole region is lost, or evacuated the way Netflix ran Kong."""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.faults.base import Injection
from chaoskit.faults.targeting import up_instances
from chaoskit.faults.zone_outage import _heal, _isolate
from chaoskit.model.faults import RegionOutage


class RegionOutageFault:
    """``terminate``: every instance of the region killed and held down.
    ``isolate``: every link to and from the region cut.
    ``evacuate``: the edge shifts the region's traffic away step by step.
    """

    def __init__(self, spec: RegionOutage) -> None:
        self.spec = spec

    def describe(self) -> str:
        return f"region_outage {self.spec.region} ({self.spec.mode})"

    async def inject(self, ctx: RunContext) -> Injection:
        selector = self.spec.selector
        if self.spec.mode == "isolate":
            return await _isolate(ctx, selector)
        if self.spec.mode == "evacuate":
            from chaoskit.faults.evacuation import evacuate

            return await evacuate(ctx, self.spec.region)
        ids = tuple(i.id for i in up_instances(ctx, selector))
        await ctx.platform.kill(ids, hold=True)
        return Injection(targets=ids, detail="SIGKILL, held down")

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        if self.spec.mode == "isolate":
            await _heal(ctx, injection)
        elif self.spec.mode == "evacuate":
            from chaoskit.faults.evacuation import failback

            await failback(ctx, injection)
        else:
            await ctx.platform.restore(injection.targets)
