"""A typed async client of the Toxiproxy v2 HTTP API, for both servers.

Why not toxiproxy-python: it is unmaintained (last commit 2019), keeps host
and port in class-level globals (one server per process), sets no timeouts,
cannot PATCH a toxic, and maps 409/400/500 loosely (see
reference/toxiproxy.md §3.4). This client is a thin layer over ``httpx``:
every call has a timeout, answers are frozen dataclasses, and failures are
:mod:`chaoskit.proxy.errors` exceptions.

>>> async with ToxiproxyClient("http://127.0.0.1:8474") as api:
...     proxy = await api.create_proxy("db", upstream="127.0.0.1:5432")
...     await api.add_toxic("db", "latency", attributes={"latency": 100})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import httpx

from chaoskit.httpclient import http_client
from chaoskit.proxy.errors import ProxyUnavailable, error_for

Stream = Literal["upstream", "downstream"]
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Toxic:
        return cls(name=str(data["name"]), type=str(data["type"]), stream=str(data["stream"]),
                   toxicity=float(data.get("toxicity", 1.0)),
                   attributes=MappingProxyType(dict(data.get("attributes") or {})))


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @property
    def port(self) -> int:
        """The listening port (meaningful once enabled: ``listen`` is then resolved)."""
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Proxy:
        return cls(name=str(data["name"]), listen=str(data.get("listen", "")),
                   upstream=str(data["upstream"]), enabled=bool(data.get("enabled", True)),
                   toxics=tuple(Toxic.from_json(t) for t in data.get("toxics") or ()))


class ToxiproxyClient:
    """One server's API. Use as an async context manager, or call :meth:`aclose`."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        # Not a browser: Toxiproxy answers 403 to a Mozilla/ user agent.
        self._http = http_client(base_url=self.url, timeout=timeout,
                                 headers={"User-Agent": "chaoskit"})

    async def __aenter__(self) -> ToxiproxyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- server -----------------------------------------------------------------

    async def version(self) -> str:
        data = await self._call("GET", "/version")
        return str(data["version"]) if isinstance(data, dict) else str(data)

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        await self._call("POST", "/reset")

    # --- proxies ----------------------------------------------------------------

    async def proxies(self) -> dict[str, Proxy]:
        data = await self._call("GET", "/proxies")
        return {name: Proxy.from_json(value) for name, value in data.items()}

    async def proxy(self, name: str) -> Proxy:
        return Proxy.from_json(await self._call("GET", f"/proxies/{name}"))

    async def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0",
                           enabled: bool = True) -> Proxy:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return Proxy.from_json(await self._call("POST", "/proxies", body))

    async def update_proxy(self, name: str, *, listen: str | None = None,
                           upstream: str | None = None, enabled: bool | None = None) -> Proxy:
        body = {k: v for k, v in (("listen", listen), ("upstream", upstream),
                                  ("enabled", enabled)) if v is not None}
        return Proxy.from_json(await self._call("PATCH", f"/proxies/{name}", body))

    async def enable(self, name: str) -> Proxy:
        return await self.update_proxy(name, enabled=True)

    async def disable(self, name: str) -> Proxy:
        """Close the listener and every connection of the proxy."""
        return await self.update_proxy(name, enabled=False)

    async def delete_proxy(self, name: str) -> None:
        await self._call("DELETE", f"/proxies/{name}")

    async def populate(self, proxies: Sequence[Mapping[str, Any]]) -> list[Proxy]:
        """Create or replace proxies at once (server side, unlike toxiproxy-python)."""
        data = await self._call("POST", "/populate", list(proxies))
        return [Proxy.from_json(p) for p in data.get("proxies") or ()]

    # --- toxics -----------------------------------------------------------------

    async def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_json(t) for t in await self._call("GET", f"/proxies/{proxy}/toxics")]

    async def toxic(self, proxy: str, name: str) -> Toxic:
        return Toxic.from_json(await self._call("GET", f"/proxies/{proxy}/toxics/{name}"))

    async def add_toxic(self, proxy: str, type: str, *, stream: Stream = "downstream",
                        toxicity: float = 1.0, attributes: Mapping[str, Any] | None = None,
                        name: str | None = None) -> Toxic:
        """Add a toxic; its default name is ``<type>_<stream>``."""
        body = {"name": name or f"{type}_{stream}", "type": type, "stream": stream,
                "toxicity": toxicity, "attributes": dict(attributes or {})}
        return Toxic.from_json(await self._call("POST", f"/proxies/{proxy}/toxics", body))

    async def update_toxic(self, proxy: str, name: str, *,
                           attributes: Mapping[str, Any] | None = None,
                           toxicity: float | None = None) -> Toxic:
        """Change some attributes (the others are kept) and/or the toxicity."""
        body: dict[str, Any] = {"attributes": dict(attributes or {})}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return Toxic.from_json(
            await self._call("PATCH", f"/proxies/{proxy}/toxics/{name}", body))

    async def delete_toxic(self, proxy: str, name: str) -> None:
        await self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    # --- transport --------------------------------------------------------------

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = await self._http.request(
                method, path, json=body if body is not None else None)
        except httpx.HTTPError as error:
            raise ProxyUnavailable(
                f"proxy API {self.url}: {method} {path}: {error!r}") from error
        if response.status_code >= 400:
            raise error_for(response.status_code, _message(response))
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise ProxyUnavailable(f"proxy API {self.url}: {method} {path}: "
                                   f"not JSON: {response.text[:200]!r}") from error


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return response.text.strip()[:200]
