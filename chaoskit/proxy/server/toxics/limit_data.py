"""limit_data: closes the connection once ``bytes`` bytes have passed in this direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chaoskit.proxy.server.channel import End
from chaoskit.proxy.server.toxics.base import ToxicBase, non_negative

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub


class Transmitted:
    """Bytes already passed on this link; survives updates of the toxic."""

    def __init__(self) -> None:
        self.count = 0


@dataclass(frozen=True)
class LimitData(ToxicBase):
    """Truncates the chunk crossing the limit, forwards it, then closes (0: on the first data)."""

    type_name: ClassVar[str] = "limit_data"

    bytes: int = 0

    def validate(self) -> list[str]:
        return non_negative(self, "bytes", limit=2**62)

    def new_state(self) -> object:
        return Transmitted()

    async def pipe(self, stub: Stub) -> None:
        sent = stub.state
        assert isinstance(sent, Transmitted)
        while True:
            item = await stub.recv()
            if isinstance(item, End):
                stub.end(item)
                return
            remaining = max(self.bytes - sent.count, 0)
            if remaining < len(item.data):
                item.data = item.data[:remaining]
            if item.data:
                sent.count += len(item.data)
                await stub.send(item)
            if self.bytes - sent.count <= 0:
                stub.end(End.CLOSE)
                return
