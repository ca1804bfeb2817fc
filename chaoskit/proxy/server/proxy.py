"""One proxy: a listener, its live connections and its toxics."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from chaoskit.proxy.server.address import join_host_port, normalise_listen, resolve_listen
from chaoskit.proxy.server.connection import Connection
from chaoskit.proxy.server.errors import EXISTS_TOXIC, NOT_FOUND_TOXIC, ApiError
from chaoskit.proxy.server.toxic_entry import ToxicEntry


class Proxy:
    """Listens on ``listen`` while enabled and carries each connection to ``upstream``.

    ``stop`` closes the listener and every connection at once (new connects get
    ECONNREFUSED); ``start`` binds the saved, already-resolved address again.
    """

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen or "127.0.0.1:0"  # Toxiproxy would bind every interface
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[ToxicEntry] = []
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None

    def to_json(self) -> dict[str, Any]:
        ordered = [t for t in self.toxics if t.direction == "upstream"] + [
            t for t in self.toxics if t.direction == "downstream"]
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream,
                "enabled": self.enabled, "Logger": {},
                "toxics": [t.to_json() for t in ordered]}

    async def start(self) -> None:
        if self.enabled:
            return
        try:
            family, address = resolve_listen(self.listen)
        except ValueError as error:
            raise ApiError(f"listen tcp: {error}", 500) from None
        except OSError as error:
            raise ApiError(f"listen tcp {self.listen}: {error}", 500) from None
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(1024)
            sock.setblocking(False)
            self._server = await asyncio.get_running_loop().create_server(self._accept, sock=sock)
        except OSError as error:
            sock.close()
            # Go's wording: "bind: address already in use".
            reason = (error.strerror or str(error)).lower()
            raise ApiError(f"listen tcp {join_host_port(*address)}: bind: {reason}", 500) from None
        host, port = sock.getsockname()[:2]
        self.listen = join_host_port(host, port)
        self.enabled = True

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            connection.close()
        self.enabled = False

    def differs(self, listen: str, upstream: str) -> bool:
        return normalise_listen(listen) != self.listen or upstream != self.upstream

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        """Toxiproxy's ``Update``: a new address restarts the proxy (dropping connections)."""
        if self.differs(listen, upstream):
            self.stop()
            self.listen, self.upstream = listen, upstream
        if enabled and not self.enabled:
            await self.start()
        elif not enabled and self.enabled:
            self.stop()

    def _accept(self) -> asyncio.Protocol:
        connection = Connection(self.upstream, self.toxics, self.connections.discard)
        self.connections.add(connection)
        return connection.client

    # --- toxics ---------------------------------------------------------------

    def toxic(self, name: str) -> ToxicEntry:
        for entry in self.toxics:
            if entry.name == name:
                return entry
        raise ApiError(NOT_FOUND_TOXIC, 404)

    def add_toxic(self, entry: ToxicEntry) -> None:
        if any(t.name == entry.name for t in self.toxics):
            raise ApiError(EXISTS_TOXIC, 409)
        entry.check()
        self.toxics.append(entry)
        for connection in list(self.connections):
            connection.link(entry.direction).add(entry.name, entry.toxic, entry.toxicity)

    def update_toxic(self, name: str, body: object) -> ToxicEntry:
        current = self.toxic(name)
        entry = current.updated(body)
        entry.check()
        self.toxics[self.toxics.index(current)] = entry
        for connection in list(self.connections):
            connection.link(entry.direction).update(name, entry.toxic, entry.toxicity)
        return entry

    def remove_toxic(self, name: str) -> None:
        entry = self.toxic(name)
        self.toxics.remove(entry)
        for connection in list(self.connections):
            connection.link(entry.direction).remove(name)

    def remove_all_toxics(self) -> None:
        for entry in list(self.toxics):
            self.remove_toxic(entry.name)
