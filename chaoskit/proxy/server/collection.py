"""The proxies of one server, by name: create, replace (populate), reset, delete."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoskit.proxy.server.errors import EXISTS_PROXY, NOT_FOUND_PROXY, ApiError
from chaoskit.proxy.server.proxy import Proxy
from chaoskit.proxy.server.toxics.base import lookup


@dataclass(frozen=True)
class ProxySpec:
    """A proxy as given to ``POST /proxies`` or ``/populate``."""

    name: str
    listen: str
    upstream: str
    enabled: bool

    @classmethod
    def from_json(cls, body: object, where: str = "") -> ProxySpec:
        if not isinstance(body, Mapping):
            raise ApiError("bad request body: expected a JSON object", 400)
        name = _field(body, "name", str, "")
        upstream = _field(body, "upstream", str, "")
        if not name:
            raise ApiError(f"missing required field: name{where}", 400)
        if not upstream:
            raise ApiError(f"missing required field: upstream{where}", 400)
        return cls(name, _field(body, "listen", str, ""), upstream,
                   _field(body, "enabled", bool, True))


def _field(body: Mapping[str, Any], key: str, kind: type[Any], default: Any) -> Any:
    found, value = lookup(body, key)
    if not found or value is None:
        return default
    if not isinstance(value, kind):
        raise ApiError(f"bad request body: {key} must be a {kind.__name__}", 400)
    return value


class ProxyCollection:
    """Mutations are serialised by one lock; none of them waits on a connection."""

    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise ApiError(NOT_FOUND_PROXY, 404)
        return proxy

    async def add(self, spec: ProxySpec) -> Proxy:
        if spec.name in self.proxies:
            raise ApiError(EXISTS_PROXY, 409)
        proxy = Proxy(spec.name, spec.listen, spec.upstream)
        if spec.enabled:
            await proxy.start()  # a bind failure raises: the proxy is not added
        self.proxies[spec.name] = proxy
        return proxy

    def remove(self, name: str) -> None:
        self.get(name).stop()
        del self.proxies[name]

    async def populate(self, body: object) -> tuple[list[Proxy], ApiError | None]:
        """Validate all, then create or replace in order; stop at the first failure."""
        if not isinstance(body, list):
            raise ApiError("bad request body: expected a JSON array of proxies", 400)
        specs = [ProxySpec.from_json(item, f" at proxy {i + 1}") for i, item in enumerate(body)]
        done: list[Proxy] = []
        for spec in specs:
            existing = self.proxies.get(spec.name)
            if existing is not None and not existing.differs(spec.listen, spec.upstream):
                done.append(existing)  # untouched, toxics and enabled flag kept
                continue
            if existing is not None:
                self.remove(spec.name)
            try:
                done.append(await self.add(spec))
            except ApiError as error:
                return done, error
        return done, None

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        for proxy in list(self.proxies.values()):
            await proxy.start()
            proxy.remove_all_toxics()

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
        self.proxies.clear()
