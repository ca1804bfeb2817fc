"""timeout: drops all data, then closes the connection after ``timeout`` ms of silence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chaoskit.proxy.server.channel import End
from chaoskit.proxy.server.toxics.base import ToxicBase, non_negative

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub


@dataclass(frozen=True)
class Timeout(ToxicBase):
    """Swallows data; closes the connection once ``timeout`` ms pass with no data (0 = never).

    As in Toxiproxy, every chunk restarts the timer, and removing the toxic
    closes the connection: the stream has lost data and must not carry on.
    """

    type_name: ClassVar[str] = "timeout"

    timeout: int = 0
    """Milliseconds; 0 holds the connection open forever."""

    def validate(self) -> list[str]:
        return non_negative(self, "timeout")

    async def pipe(self, stub: Stub) -> None:
        limit = self.timeout / 1000 if self.timeout > 0 else None
        while True:
            try:
                item = await stub.recv(limit)
            except TimeoutError:
                stub.end(End.CLOSE)
                return
            if isinstance(item, End):
                stub.end(item)
                return

    def cleanup(self, stub: Stub) -> None:
        stub.send_now(End.CLOSE)
