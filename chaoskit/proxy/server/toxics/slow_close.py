"""slow_close: passes data through, but holds the end of the stream for ``delay`` ms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chaoskit.proxy.server.channel import End
from chaoskit.proxy.server.stub import Interrupted
from chaoskit.proxy.server.toxics.base import ToxicBase, non_negative

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub


@dataclass(frozen=True)
class SlowClose(ToxicBase):
    """Delays the close (FIN) of the connection by ``delay`` ms."""

    type_name: ClassVar[str] = "slow_close"

    delay: int = 0
    """Milliseconds."""

    def validate(self) -> list[str]:
        return non_negative(self, "delay")

    async def pipe(self, stub: Stub) -> None:
        while True:
            item = await stub.recv()
            if isinstance(item, End):
                try:
                    await stub.sleep(self.delay / 1000)
                except Interrupted:
                    stub.end(item)  # never lose the end of the stream
                    raise
                stub.end(item)
                return
            await stub.send(item)
