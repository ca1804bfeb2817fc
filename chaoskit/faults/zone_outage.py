"""Chaos Gorilla: an availability zone is lost."""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.errors import FaultError
from chaoskit.faults.base import Injection
from chaoskit.faults.targeting import up_instances
from chaoskit.model.faults import ZoneOutage
from chaoskit.model.topology import Selector


class ZoneOutageFault:
    """``terminate``: every instance of the zone is killed and held down (no
    replacement inside a dead zone) until the revert brings them back.
    ``isolate``: every link to and from the zone is cut in the proxy fabric.
    """

    def __init__(self, spec: ZoneOutage) -> None:
        self.spec = spec

    def describe(self) -> str:
        return f"zone_outage {self.spec.zone} ({self.spec.mode})"

    async def inject(self, ctx: RunContext) -> Injection:
        if self.spec.mode == "isolate":
            return await _isolate(ctx, self.spec.selector)
        ids = tuple(i.id for i in up_instances(ctx, self.spec.selector))
        await ctx.platform.kill(ids, hold=True)
        return Injection(targets=ids, detail="SIGKILL, held down")

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        if self.spec.mode == "isolate":
            await _heal(ctx, injection)
            return
        await ctx.platform.restore(injection.targets)


async def _isolate(ctx: RunContext, selector: Selector) -> Injection:
    from chaoskit.faults.network import isolate

    if ctx.fabric is None:
        raise FaultError("mode isolate needs the proxy fabric, which this run does not have")
    return await isolate(ctx, selector)


async def _heal(ctx: RunContext, injection: Injection) -> None:
    from chaoskit.faults.network import heal

    await heal(ctx, injection)
