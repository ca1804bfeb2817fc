"""noop: passes data through untouched (also what a toxic runs as when toxicity misses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chaoskit.proxy.server.channel import End
from chaoskit.proxy.server.toxics.base import ToxicBase

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub


@dataclass(frozen=True)
class Noop(ToxicBase):
    """Passes every chunk on unchanged."""

    type_name: ClassVar[str] = "noop"

    def validate(self) -> list[str]:
        return []

    async def pipe(self, stub: Stub) -> None:
        while True:
            item = await stub.recv()
            if isinstance(item, End):
                stub.end(item)
                return
            await stub.send(item)
