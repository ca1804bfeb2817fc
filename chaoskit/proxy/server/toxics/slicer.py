"""slicer: cuts each chunk into pieces of about ``average_size`` bytes, ``delay`` µs apart."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chaoskit.proxy.server.channel import Chunk, End
from chaoskit.proxy.server.stub import Interrupted
from chaoskit.proxy.server.toxics.base import ToxicBase

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub

MAX_DELAY_US = 60_000_000


@dataclass(frozen=True)
class Slicer(ToxicBase):
    """Bisects chunks at ``mid ± size_variation`` until every piece is at most
    ``average_size + size_variation`` bytes, and sends them with ``delay`` µs between.
    Every byte is delivered, in order."""

    type_name: ClassVar[str] = "slicer"

    average_size: int = 0
    """Bytes; must be >= 1 (0 makes Toxiproxy recurse without end)."""
    size_variation: int = 0
    """Bytes; must be smaller than ``average_size``."""
    delay: int = 0
    """Microseconds between pieces."""

    def validate(self) -> list[str]:
        problems = []
        if self.average_size < 1:
            problems.append(f"average_size must be >= 1, got {self.average_size}")
        if not 0 <= self.size_variation < max(self.average_size, 1):
            problems.append("size_variation must be >= 0 and smaller than average_size, "
                            f"got {self.size_variation}")
        if not 0 <= self.delay <= MAX_DELAY_US:
            problems.append(f"delay must be in [0, {MAX_DELAY_US}] µs, got {self.delay}")
        return problems

    def boundaries(self, size: int) -> list[int]:
        """Cut points ``[0, …, size]``; consecutive pairs are the pieces."""
        limit = self.average_size + self.size_variation
        cuts = [0]
        todo = [(0, size)]
        while todo:
            start, end = todo.pop()
            if end - start <= limit:
                if end > start:
                    cuts.append(end)
                continue
            mid = start + (end - start) // 2
            if self.size_variation > 0:
                mid += random.randrange(-self.size_variation, self.size_variation)
            mid = min(max(mid, start + 1), end - 1)
            todo.append((mid, end))  # left half first: the stack pops it next
            todo.append((start, mid))
        return cuts

    async def pipe(self, stub: Stub) -> None:
        while True:
            item = await stub.recv()
            if isinstance(item, End):
                stub.end(item)
                return
            cuts = self.boundaries(len(item.data))
            view = memoryview(item.data)
            for index in range(1, len(cuts)):
                await stub.send(Chunk(bytes(view[cuts[index - 1]:cuts[index]]), item.stamp))
                if index == len(cuts) - 1:
                    break
                try:
                    await stub.sleep(self.delay / 1_000_000)
                except Interrupted:
                    stub.send_now(Chunk(bytes(view[cuts[index]:]), item.stamp))
                    raise
