"""Latency Monkey: delay on the links to the selected instances."""

from __future__ import annotations

from chaoskit.faults.links import ToxicFault
from chaoskit.model.faults import Latency


class LatencyFault(ToxicFault[Latency]):
    """Every chunk waits ``latency`` ± ``jitter`` ms (downstream by default: the answers
    are late, which a caller feels exactly like a slow upstream)."""

    toxic = "latency"

    def attributes(self) -> dict[str, int]:
        return {"latency": self.spec.latency, "jitter": self.spec.jitter}

    def effect(self) -> str:
        jitter = f" ±{self.spec.jitter}ms" if self.spec.jitter else ""
        return f"+{self.spec.latency}ms{jitter}"
