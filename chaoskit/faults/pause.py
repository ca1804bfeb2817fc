"""Pause: instances hang without closing their sockets (SIGSTOP, docker pause)."""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.faults.base import Injection
from chaoskit.faults.targeting import choose
from chaoskit.model.faults import Pause


class PauseFault:
    """Freeze ``count`` of the selected instances (all of them when no count is given)."""

    def __init__(self, spec: Pause) -> None:
        self.spec = spec
        self.selector = spec.selector

    def describe(self) -> str:
        return f"pause {self.spec.count or 'all'} of {self.selector.describe()}"

    async def inject(self, ctx: RunContext) -> Injection:
        count = self.spec.count
        chosen = choose(ctx, self.selector, count=count, percent=None if count else 100)
        ids = tuple(i.id for i in chosen)
        await ctx.platform.pause(ids)
        return Injection(targets=ids, detail="SIGSTOP")

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        await ctx.platform.resume(injection.targets)
