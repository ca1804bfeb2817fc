"""The link fabric: one proxy per link, so network faults can be applied to one edge.

A *link* is one dependency edge to one instance (DESIGN §2): caller instance →
upstream instance, for every pair :func:`~chaoskit.model.topology.reachable`
allows. Its proxy is named ``<caller>--<upstream>`` and listens on 127.0.0.1.

The fabric is built before :func:`~chaoskit.platform.deployment.plan_launches`
(which is synchronous) and answers its ``link_address`` callback from ports
reserved up front; :meth:`LinkFabric.create` then creates the proxies on the
server before any instance starts, and :meth:`LinkFabric.close` deletes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from chaoskit.errors import ProxyError
from chaoskit.model.faults import FaultBase, LinkFault, RegionOutage, ZoneOutage
from chaoskit.model.topology import Instance, Selector, Topology, plan_instances, reachable
from chaoskit.platform.deployment import HOST, draw_ports
from chaoskit.proxy.client import Stream, ToxiproxyClient
from chaoskit.proxy.errors import NotFound
from chaoskit.state import RunState

CALL_TIMEOUT = 5.0
"""Seconds one API call may take; a server stuck on a link (Toxiproxy #558) must not hang a run."""
PARALLEL = 16
"""API calls in flight at once: fast on 60+ links without flooding the server."""

T = TypeVar("T")


def needs_links(method: Iterable[FaultBase], requested: bool | None) -> bool:
    """Whether a run carries its edges through proxies.

    ``requested`` is ``--links``/``RunOptions.links``; None means only when the
    method has a fault that acts on links (a network fault, or an ``isolate``
    outage), so runs without one pay no proxy hop.
    """
    if requested is not None:
        return requested
    return any(isinstance(spec, LinkFault)
               or (isinstance(spec, ZoneOutage | RegionOutage) and spec.mode == "isolate")
               for spec in method)


def link_name(caller: Instance, upstream: Instance, namespace: str = "") -> str:
    """``<caller>--<upstream>``: readable in ``toxiproxy-cli list``, valid in an API path."""
    name = f"{caller.id}--{upstream.id}"
    return f"{namespace}--{name}" if namespace else name


@dataclass(frozen=True)
class Link:
    name: str
    caller: Instance
    upstream: Instance
    port: int
    """Where the caller dials: ``127.0.0.1:port``."""

    @property
    def listen(self) -> str:
        return f"{HOST}:{self.port}"


@dataclass(frozen=True)
class ToxicSpec:
    """One toxic to put on each chosen link (both streams count as two specs)."""

    type: str
    stream: Stream
    attributes: dict[str, int] = field(default_factory=dict)
    toxicity: float = 1.0


@dataclass(frozen=True)
class ToxicHandle:
    """A toxic the fabric added: exactly what :meth:`LinkFabric.remove_toxics` deletes."""

    proxy: str
    toxic: str


def plan_links(topology: Topology) -> list[tuple[Instance, Instance]]:
    """Every (caller, upstream) pair the topology's edges allow, in plan order."""
    instances = plan_instances(topology)
    pairs = []
    for caller in instances:
        for dep in topology.service(caller.service).depends_on:
            pairs += [(caller, upstream) for upstream in instances
                      if upstream.service == dep.service and reachable(caller, upstream, dep)]
    return pairs


class LinkFabric:
    """The proxies carrying a topology's links, on one Toxiproxy-API server.

    ``state`` is given when the server is external (``CHAOSKIT_TOXIPROXY_URL``):
    each proxy is then recorded so ``chaoskit rollback`` deletes it after a
    crash. A server chaoskit started is recorded by its pid instead, and killing
    it takes its proxies along. ``namespace`` prefixes names so runs sharing an
    external server cannot take over each other's proxies.
    """

    def __init__(self, topology: Topology, api: str, *, state: RunState | None = None,
                 namespace: str = "", timeout: float = CALL_TIMEOUT) -> None:
        pairs = plan_links(topology)
        # Instance and link ports are reserved in one batch: ports asked for one
        # by one could repeat each other once released.
        self.instance_ports, link_ports = draw_ports(topology, extra=len(pairs))
        """Pass to ``plan_launches(ports=...)`` so no link port equals an instance port."""
        self.links = tuple(Link(link_name(c, u, namespace), c, u, port)
                           for (c, u), port in zip(pairs, link_ports, strict=True))
        self.api = api
        self._by_pair = {(link.caller.id, link.upstream.id): link for link in self.links}
        self._upstreams: dict[str, str] = {}
        self._state = state
        self._timeout = timeout
        self._client = ToxiproxyClient(api, timeout=timeout)
        self._created: set[str] = set()
        self._serial = itertools.count(1)

    # --- deployment -------------------------------------------------------------------

    def link_address(self, caller: Instance, upstream: Instance, direct: str) -> str:
        """The ``plan_launches`` callback: the caller dials the link, which dials ``direct``."""
        link = self._by_pair.get((caller.id, upstream.id))
        if link is None:
            raise ProxyError(f"no link planned from {caller.id} to {upstream.id}")
        self._upstreams[link.name] = direct
        return link.listen

    async def create(self) -> None:
        """Create every link's proxy in one ``/populate``; call before instances start."""
        missing = [link.name for link in self.links if link.name not in self._upstreams]
        if missing:
            raise ProxyError(f"links never planned into a launch: {', '.join(missing[:5])}")
        if self._state is not None:
            # Recorded before the call: a crash half-way still leaves them to rollback.
            for link in self.links:
                self._state.add_proxy(self.api, link.name)
        body = [{"name": link.name, "listen": link.listen,
                 "upstream": self._upstreams[link.name], "enabled": True}
                for link in self.links]
        self._created.update(link.name for link in self.links)
        if body:
            await asyncio.wait_for(self._client.populate(body), self._timeout * 4)

    async def close(self) -> None:
        """Delete every proxy this fabric created (idempotent); never raises.

        A proxy that cannot be deleted stays recorded in the run state, so the
        state file survives and the next ``chaoskit run`` or ``rollback`` retries.
        """
        names, self._created = sorted(self._created), set()

        async def delete(name: str) -> None:
            with contextlib.suppress(NotFound):
                await self._client.delete_proxy(name)
            if self._state is not None:
                self._state.remove_proxy(self.api, name)

        await self._each(names, delete, raise_errors=False)
        await self._client.aclose()

    # --- choosing links ---------------------------------------------------------------

    def select(self, upstream: Selector | None = None, caller: Selector | None = None,
               ) -> list[Link]:
        """Links whose upstream matches ``upstream`` and whose caller matches ``caller``."""
        return [link for link in self.links
                if (upstream is None or upstream.matches(link.upstream))
                and (caller is None or caller.matches(link.caller))]

    def crossing(self, selector: Selector) -> list[Link]:
        """Links with exactly one end selected: what cuts the selection off from the rest.

        Links inside the selection stay up, as they do when a zone's uplinks fail.
        """
        return [link for link in self.links
                if selector.matches(link.caller) != selector.matches(link.upstream)]

    # --- faults -----------------------------------------------------------------------

    async def add_toxics(self, links: Sequence[Link], toxics: Sequence[ToxicSpec],
                         ) -> tuple[ToxicHandle, ...]:
        """Put every toxic on every link; all or nothing (what was added is removed on failure).

        Toxic names are unique per fabric, so overlapping faults on one link never collide.
        """
        serial = next(self._serial)
        planned = [(link, spec,
                    ToxicHandle(link.name, f"chaoskit{serial}_{spec.type}_{spec.stream}"))
                   for link in links for spec in toxics]
        added: list[ToxicHandle] = []

        async def add(item: tuple[Link, ToxicSpec, ToxicHandle]) -> None:
            link, spec, handle = item
            await self._client.add_toxic(link.name, spec.type, stream=spec.stream,
                                         toxicity=spec.toxicity, attributes=spec.attributes,
                                         name=handle.toxic)
            added.append(handle)

        try:
            await self._each(planned, add)
        except BaseException:
            await self.remove_toxics(added)
            raise
        return tuple(handle for _, _, handle in planned)

    async def remove_toxics(self, handles: Sequence[ToxicHandle]) -> None:
        """Delete exactly these toxics; one already gone (its proxy deleted) is not an error."""

        async def remove(handle: ToxicHandle) -> None:
            with contextlib.suppress(NotFound):
                await self._client.delete_toxic(handle.proxy, handle.toxic)

        await self._each(handles, remove)

    async def set_enabled(self, links: Sequence[Link], enabled: bool) -> None:
        """Disable (close listener and connections: ECONNREFUSED) or re-enable links."""

        async def switch(link: Link) -> None:
            await self._client.update_proxy(link.name, enabled=enabled)

        await self._each(links, switch)

    async def _each(self, items: Iterable[T], call: Callable[[T], Awaitable[None]], *,
                    raise_errors: bool = True) -> None:
        """``call`` on every item, at most PARALLEL at once, each bounded by the timeout.

        Every item is attempted even when some fail; the failures are then raised
        together as one ProxyError (or swallowed, for ``close``).
        """
        gate = asyncio.Semaphore(PARALLEL)

        async def one(item: T) -> None:
            async with gate:
                await asyncio.wait_for(call(item), self._timeout)

        results = await asyncio.gather(*(one(item) for item in items), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, Exception):
                raise error  # cancellation and the like are not API failures
        if errors and raise_errors:
            why = "; ".join(sorted({str(e) or type(e).__name__ for e in errors})[:3])
            raise ProxyError(f"{len(errors)} proxy API call(s) failed: {why}")

