"""container_pause: freeze a user's own labelled containers (docker pause)."""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.faults.base import Injection
from chaoskit.faults.container_targets import (
    Hit,
    choose_containers,
    describe_selection,
    hit_of,
    preview,
)
from chaoskit.model.faults import ContainerPause
from chaoskit.model.topology import Instance


class ContainerPauseFault:
    """Pause the matching opted-in containers (all, unless count/percent); revert unpauses."""

    def __init__(self, spec: ContainerPause) -> None:
        self.spec = spec

    def describe(self) -> str:
        return f"container_pause {describe_selection(self.spec, True)}"

    def preview(self, instances: list[Instance]) -> list[str]:
        return preview(self.spec)

    async def inject(self, ctx: RunContext) -> Injection:
        engine, chosen = await choose_containers(self.spec, ctx.rng, default_all=True)
        names = tuple(t.name for t in chosen)
        if self.spec.dry_run:
            engine.close()
            return Injection(targets=names, detail="dry run: nothing paused")
        await engine.pause(chosen)
        return Injection(targets=names, detail="docker pause", handle=Hit(engine, tuple(chosen)))

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        hit = hit_of(injection)
        if hit is None:
            return
        try:
            await hit.engine.unpause(hit.targets)
        finally:
            hit.engine.close()
