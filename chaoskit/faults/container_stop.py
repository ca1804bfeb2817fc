"""container_stop: stop a user's own labelled containers (SIGTERM, then SIGKILL)."""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.faults.base import Injection
from chaoskit.faults.container_targets import (
    Hit,
    choose_containers,
    describe_selection,
    preview,
    start_again,
)
from chaoskit.model.faults import ContainerStop
from chaoskit.model.topology import Instance


class ContainerStopFault:
    """Stop ``count`` (default one) of the matching opted-in containers; revert starts them."""

    def __init__(self, spec: ContainerStop) -> None:
        self.spec = spec

    def describe(self) -> str:
        return f"container_stop {describe_selection(self.spec, False)}"

    def preview(self, instances: list[Instance]) -> list[str]:
        return preview(self.spec)

    async def inject(self, ctx: RunContext) -> Injection:
        engine, chosen = await choose_containers(self.spec, ctx.rng, default_all=False)
        names = tuple(t.name for t in chosen)
        if self.spec.dry_run:
            engine.close()
            return Injection(targets=names, detail="dry run: nothing stopped")
        await engine.stop(chosen, timeout=self.spec.timeout)
        return Injection(targets=names, detail="docker stop", handle=Hit(engine, tuple(chosen)))

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        await start_again(injection)
