"""A proxied connection: the accepted client socket, the dialled upstream, two links."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from chaoskit.proxy.server.address import split_host_port
from chaoskit.proxy.server.link import ConnectionControl, Link, Side

if TYPE_CHECKING:
    from chaoskit.proxy.server.toxic_entry import ToxicEntry

log = logging.getLogger(__name__)

DIAL_TIMEOUT = 10.0
"""Seconds to connect upstream; Toxiproxy has none and dials inside its accept loop."""
CLOSE_GRACE = 1.0
"""Seconds a closed socket may spend flushing to a peer that does not read, before an RST."""


class Connection(ConnectionControl):
    """Lives from accept to close; removes itself from ``registry`` when closed."""

    def __init__(self, upstream: str, toxics: Iterable[ToxicEntry],
                 on_closed: Callable[[Connection], None]) -> None:
        self.upstream_address = upstream
        self.client = Side(self)
        self.server = Side(self)
        self.links = {
            "upstream": Link(self, "upstream", self.client, self.server),
            "downstream": Link(self, "downstream", self.server, self.client),
        }
        for entry in toxics:
            self.links[entry.direction].add(entry.name, entry.toxic, entry.toxicity)
        self._on_closed = on_closed
        self._half_closed: set[str] = set()
        self._dial: asyncio.Task[None] | None = None
        self.closed = False

    def socket_made(self, side: Side) -> None:
        for link in self.links.values():
            if link.dst is side:
                link.sink.connected()
        if side is self.client and side.transport is not None:
            # Read nothing from the client until upstream is connected; dial off the accept path.
            side.transport.pause_reading()
            self._dial = asyncio.get_running_loop().create_task(self._connect_upstream())

    async def _connect_upstream(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = split_host_port(self.upstream_address)
            async with asyncio.timeout(DIAL_TIMEOUT):
                await loop.create_connection(lambda: self.server, host, port)
        except (OSError, ValueError, TimeoutError) as error:
            # As Toxiproxy: the client sees its connection accepted, then closed.
            log.info("upstream %s unreachable: %s", self.upstream_address, error)
            self.close()
            return
        if self.closed:
            self.close()  # closed while dialling: drop the fresh upstream socket too
            return
        transport = self.client.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def link(self, stream: str) -> Link:
        return self.links[stream]

    def half_closed(self, link: Link) -> None:
        self._half_closed.add(link.stream)
        if len(self._half_closed) == 2:
            self.close()

    def close(self) -> None:
        """Close both sockets, flushing what is already written (for at most CLOSE_GRACE)."""
        for side in (self.client, self.server):
            transport = side.transport
            if transport is None or transport.is_closing():
                continue
            transport.close()
            if transport.get_write_buffer_size():
                # asyncio keeps the socket open until its buffer drains; a peer that never
                # reads would keep a "closed" connection alive forever.
                asyncio.get_running_loop().call_later(CLOSE_GRACE, side.reset)
        self._finish()

    def reset(self) -> None:
        """Close both sockets with an RST."""
        for side in (self.client, self.server):
            side.reset()
        self._finish()

    def _finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._dial is not None and not self._dial.done():
            self._dial.cancel()
        for link in self.links.values():
            link.cancel()
        with contextlib.suppress(Exception):
            self._on_closed(self)
