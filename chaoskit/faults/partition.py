"""Links cut: a blackhole (bytes vanish, callers wait out their timeouts) or refused connects."""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.faults.base import Injection
from chaoskit.faults.links import LinkChange, ToxicFault, chosen_links, fabric_of
from chaoskit.model.faults import Partition

BLACKHOLE = {"timeout": 0}
"""A ``timeout`` toxic with timeout 0 drops every byte and never closes the connection."""


class PartitionFault(ToxicFault[Partition]):
    """``blackhole``: a timeout-0 toxic on the chosen streams, as a network dropping
    packets; the connect still succeeds (a userland proxy accepts it) and then
    nothing comes back. ``refuse``: the proxies are disabled, so connects fail
    fast with ECONNREFUSED and live connections close, as a host that is gone.
    """

    toxic = "timeout"

    def attributes(self) -> dict[str, int]:
        return dict(BLACKHOLE)

    def effect(self) -> str:
        return "refused" if self.spec.mode == "refuse" else "blackholed"

    async def inject(self, ctx: RunContext) -> Injection:
        if self.spec.mode == "blackhole":
            return await super().inject(ctx)
        links = chosen_links(ctx, self.spec)
        await fabric_of(ctx).set_enabled(links, False)
        return Injection(targets=tuple(link.name for link in links),
                         detail=f"{len(links)} proxies disabled",
                         handle=LinkChange(disabled=tuple(links)))

