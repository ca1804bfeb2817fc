"""The link fabric: one proxy per link, so network faults can be applied to one edge.

A *link* is one dependency edge to one instance (DESIGN §2). Three shapes:

- ``links: per_caller`` (the default): caller instance → upstream instance, for
  every pair :func:`~chaoskit.model.topology.reachable` allows, named
  ``<caller>--<upstream>``; with ``load.through_link`` also ``load--<instance>``
  for every instance, the load's own links.
- ``links: shared``: one proxy per instance, named after it, in front of its
  first named port, that every caller and the load dial: a system passing
  addresses around (Sentinel) then knows each node by one address, and a fault on
  the node's proxy cannot be bypassed. Such links have no caller.
- declared proxies (attach mode, ``Experiment.proxies``): a listen and an
  upstream address the user gave, in front of a system chaoskit did not start.

Every proxy listens on a loopback address.

The fabric is built before :func:`~chaoskit.platform.deployment.plan_launches`
(which is synchronous) and answers its ``link_address`` callback from ports
reserved up front; :meth:`LinkFabric.create` then creates the proxies on the
server before any instance starts, and :meth:`LinkFabric.close` deletes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from chaoskit.errors import ProxyError
from chaoskit.model.experiment import ProxySpec, split_address
from chaoskit.model.faults import FaultBase, LinkFault, RegionOutage, ZoneOutage
from chaoskit.model.topology import (
    GLOBAL,
    Instance,
    Selector,
    Topology,
    plan_instances,
    reachable,
)
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


LOAD = Instance(id="load", service="load", zone=GLOBAL, region=GLOBAL, index=0)
"""The caller of the load's links (``load.through_link`` on ``per_caller`` links)."""


def link_name(caller: Instance | None, upstream: Instance, namespace: str = "") -> str:
    """``<caller>--<upstream>`` (``<upstream>`` for a shared link): readable in
    ``toxiproxy-cli list``, valid in an API path."""
    name = f"{caller.id}--{upstream.id}" if caller is not None else upstream.id
    return f"{namespace}--{name}" if namespace else name


@dataclass(frozen=True)
class Link:
    name: str
    caller: Instance | None
    """None: every caller dials it (a shared link, a declared proxy)."""
    upstream: Instance | None
    """None: a declared proxy, in front of no instance chaoskit knows."""
    port: int
    """Where callers dial: ``host:port``."""
    host: str = HOST
    declared: str = ""
    """The name the experiment gave a declared proxy (``proxy: NAME`` in faults)."""

    @property
    def listen(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


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


def plan_links(topology: Topology, *, through_link: bool = False,
               ) -> list[tuple[Instance | None, Instance]]:
    """Every link as (caller, upstream), in plan order: the pairs the topology's edges
    allow (and the load's, :data:`LOAD`, to every instance when ``through_link``), or
    with ``links: shared`` one (None, instance) per instance."""
    instances = plan_instances(topology)
    if topology.links == "shared":
        return [(None, upstream) for upstream in instances]
    pairs: list[tuple[Instance | None, Instance]] = []
    if through_link:
        pairs += [(LOAD, upstream) for upstream in instances]
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

    def __init__(self, topology: Topology | None, api: str, *, state: RunState | None = None,
                 namespace: str = "", timeout: float = CALL_TIMEOUT,
                 through_link: bool = False, proxies: Sequence[ProxySpec] = ()) -> None:
        self.shared = topology is not None and topology.links == "shared"
        self._upstreams: dict[str, str] = {}
        if topology is None:
            # Attach mode: the user's addresses, nothing drawn.
            self.instance_ports: dict[str, dict[str, int]] = {}
            links = []
            for proxy in proxies:
                host, port = split_address(proxy.listen)
                name = f"{namespace}--{proxy.name}" if namespace else proxy.name
                links.append(Link(name, None, None, port, host=host, declared=proxy.name))
                self._upstreams[name] = proxy.upstream
            self.links: tuple[Link, ...] = tuple(links)
        else:
            pairs = plan_links(topology, through_link=through_link)
            # Instance and link ports are reserved in one batch: ports asked for one by
            # one could repeat each other once released.
            self.instance_ports, link_ports = draw_ports(topology, extra=len(pairs))
            """Pass to ``plan_launches(ports=...)`` so no link port equals an instance port."""
            self.links = tuple(Link(link_name(c, u, namespace), c, u, port)
                               for (c, u), port in zip(pairs, link_ports, strict=True))
            for link in self.links:
                if link.caller is None or link.caller is LOAD:
                    # Dialled by anyone (or the load, after the launches are planned):
                    # the upstream is the instance's first port, known now.
                    assert link.upstream is not None
                    port = next(iter(self.instance_ports[link.upstream.id].values()))
                    self._upstreams[link.name] = f"{HOST}:{port}"
        self.api = api
        self._by_pair = {(link.caller.id if link.caller else None,
                          link.upstream.id if link.upstream else None): link
                         for link in self.links}
        self._state = state
        self._timeout = timeout
        self._client = ToxiproxyClient(api, timeout=timeout)
        self._created: set[str] = set()
        self._serial = itertools.count(1)

    # --- deployment -------------------------------------------------------------------

    def link_address(self, caller: Instance | None, upstream: Instance, direct: str) -> str:
        """The ``plan_launches`` callback: the caller dials the link, which dials ``direct``.

        ``caller`` None is the load (``load.through_link``). A shared link answers every
        caller; only the first named port is proxied, so ``direct`` must be that port.
        """
        if self.shared:
            key: tuple[str | None, str | None] = (None, upstream.id)
        else:
            key = ((caller or LOAD).id, upstream.id)
        link = self._by_pair.get(key)
        if link is None:
            source = caller.id if caller is not None else "the load (load.through_link off)"
            raise ProxyError(f"no link planned from {source} to {upstream.id}")
        known = self._upstreams.get(link.name)
        if known is not None and known != direct:
            raise ProxyError(f"link {link.name} carries {known}, not {direct}: links proxy "
                             "an instance's first named port only")
        self._upstreams[link.name] = direct
        return link.listen

    async def create(self) -> None:
        """Create every link's proxy in one ``/populate``; call before instances start."""
        missing = [link.name for link in self.links if link.name not in self._upstreams]
        if missing:
            raise ProxyError(f"links never planned into a launch: {', '.join(missing[:5])}")
        taken = [link for link in self.links if link.declared and _taken(link)]
        if taken:
            raise ProxyError("; ".join(f"proxy {link.declared!r}: listen {link.listen} is "
                                       "already in use on this machine" for link in taken))
        if self._state is not None:
            # Recorded before the call: a crash half-way still leaves them to rollback.
            for link in self.links:
                self._state.add_proxy(self.api, link.name)
        body = [{"name": link.name, "listen": link.listen,
                 "upstream": self._upstreams[link.name], "enabled": True}
                for link in self.links]
        self._created.update(link.name for link in self.links)
        if body:
            async with asyncio.timeout(self._timeout * 4):
                await self._client.populate(body)

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
        if caller is not None and self.shared:
            raise ProxyError("links: shared has one proxy per instance for every caller: "
                             "a fault cannot pick a caller (use links: per_caller)")
        return [link for link in self.links if link.upstream is not None
                and (upstream is None or upstream.matches(link.upstream))
                and (caller is None or (link.caller is not None
                                        and caller.matches(link.caller)))]

    def named(self, names: Sequence[str]) -> list[Link]:
        """Declared proxies by the names the experiment gave them."""
        by_name = {link.declared: link for link in self.links if link.declared}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise ProxyError(f"no declared proxy {', '.join(map(repr, unknown))}; declared: "
                             f"{', '.join(sorted(by_name)) or 'none'}")
        return [by_name[name] for name in names]

    def crossing(self, selector: Selector) -> list[Link]:
        """Links with exactly one end selected: what cuts the selection off from the rest.

        Links inside the selection stay up, as they do when a zone's uplinks fail.
        """
        if self.shared:
            raise ProxyError("isolating a zone or region cuts links by caller, which "
                             "links: shared cannot (use links: per_caller)")
        return [link for link in self.links
                if link.caller is not None and link.upstream is not None
                and selector.matches(link.caller) != selector.matches(link.upstream)]

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
                async with asyncio.timeout(self._timeout):
                    await call(item)

        results = await asyncio.gather(*(one(item) for item in items), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, Exception):
                raise error  # cancellation and the like are not API failures
        if errors and raise_errors:
            why = "; ".join(sorted({str(e) or type(e).__name__ for e in errors})[:3])
            raise ProxyError(f"{len(errors)} proxy API call(s) failed: {why}")


def _taken(link: Link) -> bool:
    """Whether something on this machine already listens on a declared proxy's address."""
    family = socket.AF_INET6 if ":" in link.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((link.host, link.port))
        except OSError:
            return True
    return False
