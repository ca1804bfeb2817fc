"""Data in small pieces: every chunk is cut into ~``average_size``-byte slices, spaced out."""

from __future__ import annotations

from chaoskit.faults.links import ToxicFault
from chaoskit.model.faults import Slicer


class SlicerFault(ToxicFault[Slicer]):
    toxic = "slicer"

    def attributes(self) -> dict[str, int]:
        return {"average_size": self.spec.average_size,
                "size_variation": self.spec.size_variation, "delay": self.spec.delay}

    def effect(self) -> str:
        return (f"{self.spec.average_size}±{self.spec.size_variation}B pieces "
                f"{self.spec.delay}µs apart")
