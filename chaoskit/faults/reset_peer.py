"""Connections reset by peer: the first chunk is swallowed, then the link sends an RST."""

from __future__ import annotations

from chaoskit.faults.links import ToxicFault
from chaoskit.model.faults import ResetPeer


class ResetPeerFault(ToxicFault[ResetPeer]):
    """Only connections opened after the inject close with an RST (Toxiproxy sets linger 0
    when a connection starts); older ones see a plain close."""

    toxic = "reset_peer"

    def attributes(self) -> dict[str, int]:
        return {"timeout": self.spec.timeout}

    def effect(self) -> str:
        return f"RST after {self.spec.timeout}ms"
