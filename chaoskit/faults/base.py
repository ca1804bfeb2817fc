"""The fault protocol: inject returns a handle, revert takes it back.

Selection, seeding, timing, history and "revert even on error" are the
runner's job (``chaoskit.runner``), written once, not in each fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from chaoskit.context import RunContext


@dataclass(frozen=True)
class Injection:
    """What a fault did, so it can be reverted: the targets it hit and its own handle."""

    targets: tuple[str, ...]
    detail: str = ""
    handle: object = None


@runtime_checkable
class Fault(Protocol):
    """A fault kind. Built from its spec; ``inject`` returns once the fault is in effect."""

    def describe(self) -> str:
        """A short label for the timeline: "zone_outage us-east-1a (terminate)"."""

    async def inject(self, ctx: RunContext) -> Injection:
        """Apply the fault; return when it is in effect (e.g. every chosen process is dead)."""

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        """Undo the fault; return when the system is restored (e.g. every instance healthy)."""
