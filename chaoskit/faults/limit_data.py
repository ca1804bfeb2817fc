"""Transfers cut off: each connection closes once ``bytes`` bytes have passed."""

from __future__ import annotations

from chaoskit.faults.links import ToxicFault
from chaoskit.model.faults import LimitData


class LimitDataFault(ToxicFault[LimitData]):
    """The count is per connection and direction, kept for the connection's life."""

    toxic = "limit_data"

    def attributes(self) -> dict[str, int]:
        return {"bytes": self.spec.bytes}

    def effect(self) -> str:
        return f"closed after {self.spec.bytes}B"
