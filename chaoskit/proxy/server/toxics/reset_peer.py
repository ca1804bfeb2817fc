"""reset_peer: on the first data (or end of stream), waits ``timeout`` ms, then sends RST."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chaoskit.proxy.server.channel import End
from chaoskit.proxy.server.stub import Interrupted
from chaoskit.proxy.server.toxics.base import ToxicBase, non_negative

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub


@dataclass(frozen=True)
class ResetPeer(ToxicBase):
    """Resets the connection (SO_LINGER 0, so both peers see ECONNRESET).

    The first chunk is consumed, as in Toxiproxy. Unlike Toxiproxy, the wait
    is interruptible (removing the toxic in time cancels the reset and the
    held chunk is passed on), and the RST is applied to connections that were
    already open when the toxic was added.
    """

    type_name: ClassVar[str] = "reset_peer"

    timeout: int = 0
    """Milliseconds between the first data and the reset."""

    def validate(self) -> list[str]:
        return non_negative(self, "timeout")

    async def pipe(self, stub: Stub) -> None:
        item = await stub.recv()
        try:
            await stub.sleep(self.timeout / 1000)
        except Interrupted:
            stub.send_now(item)
            raise
        stub.end(End.RESET)
