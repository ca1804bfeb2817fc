"""latency: delays each chunk by ``latency`` ± ``jitter`` ms, counted from when it was read."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chaoskit.proxy.server.channel import End
from chaoskit.proxy.server.stub import Interrupted
from chaoskit.proxy.server.toxics.base import ToxicBase, non_negative

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub


@dataclass(frozen=True)
class Latency(ToxicBase):
    """Delays every chunk; FIFO, so a short delay waits behind a long one (no reordering).

    The wait is ``delay - time already queued``: a chunk that sat behind others
    is not delayed twice, so throughput is kept. The chunk's stamp then moves
    forward by the wait, so chained latency toxics add up.
    """

    type_name: ClassVar[str] = "latency"
    buffer_size: ClassVar[int] = 1024  # Toxiproxy's buffer: lets data keep flowing while delayed

    latency: int = 0
    """Milliseconds."""
    jitter: int = 0
    """Milliseconds; the delay is uniform in [latency - jitter, latency + jitter)."""

    def validate(self) -> list[str]:
        return non_negative(self, "latency", "jitter")

    def delay(self) -> float:
        """One draw of the delay, in seconds (negative means none)."""
        ms = self.latency
        if self.jitter > 0:
            ms += random.randrange(-self.jitter, self.jitter)
        return ms / 1000

    async def pipe(self, stub: Stub) -> None:
        while True:
            item = await stub.recv()
            if isinstance(item, End):
                stub.end(item)
                return
            wait = self.delay() - (stub.now() - item.stamp)
            try:
                await stub.sleep(wait)
            except Interrupted:
                stub.send_now(item)  # as Toxiproxy: on interrupt, forward without the delay
                raise
            if wait > 0:
                item.stamp += wait
            await stub.send(item)
