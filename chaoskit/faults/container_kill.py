"""container_kill: kill (or crash) a user's own labelled containers, Pumba style."""

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
from chaoskit.model.faults import ContainerKill
from chaoskit.model.topology import Instance


class ContainerKillFault:
    """Kill ``count`` (default one) of the matching opted-in containers.

    ``mode: kill`` goes through the engine with ``signal``; ``mode: crash`` is a
    host-side SIGKILL so the container's own restart policy replaces it.
    Reverting starts whichever chosen container is still down.
    """

    def __init__(self, spec: ContainerKill) -> None:
        self.spec = spec

    def describe(self) -> str:
        how = "crash" if self.spec.mode == "crash" else self.spec.signal
        return f"container_kill {describe_selection(self.spec, False)} ({how})"

    def preview(self, instances: list[Instance]) -> list[str]:
        return preview(self.spec)

    async def inject(self, ctx: RunContext) -> Injection:
        engine, chosen = await choose_containers(self.spec, ctx.rng, default_all=False)
        names = tuple(t.name for t in chosen)
        if self.spec.dry_run:
            engine.close()
            return Injection(targets=names, detail="dry run: nothing killed")
        if self.spec.mode == "crash":
            await engine.crash(chosen)
        else:
            await engine.kill(chosen, signal=self.spec.signal)
        return Injection(targets=names, detail=self.describe(), handle=Hit(engine, tuple(chosen)))

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        await start_again(injection)
