"""Chaos Monkey: kill instances at random and let the platform replace them."""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.faults.base import Injection
from chaoskit.faults.targeting import choose
from chaoskit.model.faults import InstanceKill


class InstanceKillFault:
    """SIGKILL ``count`` (or ``percent``) of the selected instances.

    The kill does not hold the instances down: the restart policy replaces
    them, as an auto-scaling group would. Reverting waits until every killed
    instance is healthy again (or starts it at once if it is still down).
    """

    def __init__(self, spec: InstanceKill) -> None:
        self.spec = spec
        self.selector = spec.selector

    def describe(self) -> str:
        amount = f"{self.spec.percent:g}%" if self.spec.percent else str(self.spec.count or 1)
        return f"instance_kill {amount} of {self.selector.describe()}"

    async def inject(self, ctx: RunContext) -> Injection:
        chosen = choose(ctx, self.selector, count=self.spec.count, percent=self.spec.percent)
        ids = tuple(i.id for i in chosen)
        await ctx.platform.kill(ids, hold=False)
        return Injection(targets=ids, detail="SIGKILL")

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        await ctx.platform.restore(injection.targets)
