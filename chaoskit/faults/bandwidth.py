"""A thin pipe: the links to the selected instances carry at most ``rate`` KB/s."""

from __future__ import annotations

from chaoskit.faults.links import ToxicFault
from chaoskit.model.faults import Bandwidth


class BandwidthFault(ToxicFault[Bandwidth]):
    toxic = "bandwidth"

    def attributes(self) -> dict[str, int]:
        return {"rate": self.spec.rate}

    def effect(self) -> str:
        return f"{self.spec.rate} KB/s"
