"""bandwidth: limits a direction to ``rate`` KB/s (1 KB = 1000 bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chaoskit.proxy.server.channel import Chunk, End
from chaoskit.proxy.server.stub import Interrupted
from chaoskit.proxy.server.toxics.base import ToxicBase

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub

MAX_RATE = 10_000_000
"""10 GB/s: beyond what any link here carries."""


@dataclass(frozen=True)
class Bandwidth(ToxicBase):
    """Paces chunks to the rate; a chunk bigger than 100 ms worth is sent in 100 ms slices.

    Pacing keeps an absolute "link free at" time, so timer overshoot is
    corrected on the next piece; idle time earns no credit (no bursts).
    """

    type_name: ClassVar[str] = "bandwidth"

    rate: int = 0
    """KB/s. Must be > 0: Toxiproxy treats 0 as "nothing ever passes" and a negative rate panics."""

    def validate(self) -> list[str]:
        if self.rate <= 0:
            return [f"rate must be > 0 KB/s, got {self.rate}"]
        if self.rate > MAX_RATE:
            return [f"rate must be <= {MAX_RATE} KB/s, got {self.rate}"]
        return []

    def slices(self, size: int) -> list[tuple[int, int]]:
        """[start, end) pieces of a chunk of ``size`` bytes: at most 100 ms worth each."""
        step = self.rate * 100
        return [(start, min(start + step, size)) for start in range(0, size, step)]

    async def pipe(self, stub: Stub) -> None:
        per_second = self.rate * 1000
        free_at = stub.now()
        while True:
            item = await stub.recv()
            if isinstance(item, End):
                stub.end(item)
                return
            free_at = max(free_at, stub.now())
            pieces = self.slices(len(item.data))
            view = memoryview(item.data)
            for start, end in pieces:
                free_at += (end - start) / per_second
                try:
                    await stub.sleep(free_at - stub.now())
                except Interrupted:
                    stub.send_now(Chunk(bytes(view[start:]), item.stamp))  # drop nothing
                    raise
                data = item.data if len(pieces) == 1 else bytes(view[start:end])
                await stub.send(Chunk(data, item.stamp))
