"""What the network faults share: finding the fabric and the links, one toxic per stream.

A network fault is a spec (``chaoskit.model.faults.LinkFault``) plus the toxic
type and attributes it stands for; :class:`ToxicFault` does the rest, so each
kind's module only says what its toxic is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from chaoskit.context import RunContext
from chaoskit.errors import FaultError
from chaoskit.faults.base import Injection
from chaoskit.model.faults import Direction, LinkFault
from chaoskit.proxy.client import Stream
from chaoskit.proxy.fabric import Link, LinkFabric, ToxicHandle, ToxicSpec

S = TypeVar("S", bound=LinkFault)


@dataclass(frozen=True)
class LinkChange:
    """The handle of a network fault: exactly what to take back."""

    toxics: tuple[ToxicHandle, ...] = ()
    disabled: tuple[Link, ...] = ()


def fabric_of(ctx: RunContext) -> LinkFabric:
    if not isinstance(ctx.fabric, LinkFabric):
        raise FaultError("network faults need the link fabric, and this run has none "
                         "(it was started with links switched off)")
    return ctx.fabric


def streams(direction: Direction) -> tuple[Stream, ...]:
    return ("upstream", "downstream") if direction == "both" else (direction,)


def where(spec: LinkFault) -> str:
    """"to service=playback,zone=us-east-1a from gateway": the links a spec chooses."""
    if spec.proxy is not None:
        return f"on proxy {', '.join(spec.proxy)}"
    text = f"to {spec.selector.describe()}"
    return f"{text} from {spec.caller}" if spec.caller else text


def chosen_links(ctx: RunContext, spec: LinkFault) -> list[Link]:
    """The links a spec chooses; none is an error (a typo in ``caller`` lands here).

    ``proxy`` names declared proxies (attach mode); ``caller`` on ``links: shared`` is
    refused (one proxy carries every caller).
    """
    fabric = fabric_of(ctx)
    if spec.proxy is not None:
        return fabric.named(spec.proxy)
    links = fabric.select(spec.selector, spec.caller_selector)
    if not links:
        raise FaultError(f"no link {where(spec)}: no dependency edge reaches those instances")
    return links


def change_of(injection: Injection) -> LinkChange:
    if not isinstance(injection.handle, LinkChange):
        raise FaultError(f"not a network fault's handle: {injection.handle!r}")
    return injection.handle


async def add_toxic(ctx: RunContext, links: list[Link], toxic: str, attributes: dict[str, int],
                    direction: Direction, toxicity: float = 1.0) -> Injection:
    """One ``toxic`` per chosen stream on every link; the injection reverts exactly those."""
    specs = [ToxicSpec(toxic, stream, attributes, toxicity) for stream in streams(direction)]
    handles = await fabric_of(ctx).add_toxics(links, specs)
    return Injection(targets=tuple(link.name for link in links),
                     detail=f"{toxic} {direction} on {len(links)} link(s)",
                     handle=LinkChange(toxics=handles))


async def take_back(ctx: RunContext, injection: Injection) -> None:
    """Remove the toxics and re-enable the proxies an injection changed."""
    change = change_of(injection)
    fabric = fabric_of(ctx)
    await fabric.remove_toxics(change.toxics)
    if change.disabled:
        await fabric.set_enabled(change.disabled, True)


class ToxicFault(Generic[S]):
    """A fault that puts one toxic type on the chosen links; subclasses name the toxic."""

    toxic: ClassVar[str]

    def __init__(self, spec: S) -> None:
        self.spec = spec

    def attributes(self) -> dict[str, int]:
        """The toxic's attributes, in Toxiproxy's units."""
        raise NotImplementedError

    def effect(self) -> str:
        """What the toxic does, for the timeline: "+2000ms ±100ms"."""
        return ", ".join(f"{k}={v}" for k, v in self.attributes().items())

    def describe(self) -> str:
        toxicity = "" if self.spec.toxicity == 1 else f", toxicity {self.spec.toxicity:g}"
        return (f"{self.spec.fault} {self.effect()} {where(self.spec)} "
                f"({self.spec.direction}{toxicity})")

    async def inject(self, ctx: RunContext) -> Injection:
        return await add_toxic(ctx, chosen_links(ctx, self.spec), self.toxic, self.attributes(),
                               self.spec.direction, self.spec.toxicity)

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        await take_back(ctx, injection)
