"""Isolating instances from the rest of the topology: the ``isolate`` outage modes.

Chaos Gorilla and Chaos Kong in ``isolate`` mode cut the network instead of
killing processes: every link crossing the boundary of the selection — from
outside to a selected instance, or from a selected instance outward — is
blackholed in both directions. Links inside the selection stay up: a zone cut
off from the others still talks to itself, and its instances keep running,
which is what makes a partition harder than a crash (work done inside may
never be acknowledged outside).
"""

from __future__ import annotations

from chaoskit.context import RunContext
from chaoskit.errors import FaultError
from chaoskit.faults.base import Injection
from chaoskit.faults.links import add_toxic, fabric_of, take_back
from chaoskit.faults.partition import BLACKHOLE
from chaoskit.model.topology import Selector


async def isolate(ctx: RunContext, selector: Selector) -> Injection:
    """Blackhole every link to and from the selected instances; revert with :func:`heal`."""
    links = fabric_of(ctx).crossing(selector)
    if not links:
        raise FaultError(f"no link reaches or leaves {selector.describe()}: nothing to isolate")
    injection = await add_toxic(ctx, links, "timeout", BLACKHOLE, "both")
    return Injection(targets=injection.targets,
                     detail=f"{len(links)} link(s) blackholed both ways",
                     handle=injection.handle)


async def heal(ctx: RunContext, injection: Injection) -> None:
    """Undo :func:`isolate`; removing the toxics also closes the connections they held."""
    await take_back(ctx, injection)
