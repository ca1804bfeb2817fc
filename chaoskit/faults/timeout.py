"""Data stops: the links swallow everything and close after ``timeout`` ms of silence."""

from __future__ import annotations

from chaoskit.faults.links import ToxicFault
from chaoskit.model.faults import Timeout


class TimeoutFault(ToxicFault[Timeout]):
    """Removing a timeout toxic closes the connections it held, so the revert starts the
    callers on fresh connections rather than on streams with bytes missing."""

    toxic = "timeout"

    def attributes(self) -> dict[str, int]:
        return {"timeout": self.spec.timeout}

    def effect(self) -> str:
        return "data dropped, never closed" if not self.spec.timeout else (
            f"data dropped, closed after {self.spec.timeout}ms")
