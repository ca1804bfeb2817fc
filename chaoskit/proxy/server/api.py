"""The Toxiproxy v2.12 HTTP API over aiohttp: routes, status codes, error bodies.

Handlers are short: decode, delegate to the collection, encode. Every failure
becomes ``{"error": message, "status": code}``; an unexpected exception is a
500 with its message, never a crashed server.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from chaoskit.proxy.server.collection import ProxyCollection, ProxySpec
from chaoskit.proxy.server.errors import ApiError
from chaoskit.proxy.server.toxic_entry import ToxicEntry

log = logging.getLogger(__name__)

VERSION = "2.12.0-chaoskit"
COLLECTION = web.AppKey("collection", ProxyCollection)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(collection: ProxyCollection) -> web.Application:
    app = web.Application(middlewares=[_request_id, _block_browsers, _errors])
    app[COLLECTION] = collection
    r = app.router
    r.add_get("/proxies", _proxy_index)
    r.add_post("/proxies", _proxy_create)
    r.add_post("/populate", _populate)
    r.add_get("/proxies/{proxy}", _proxy_show)
    r.add_patch("/proxies/{proxy}", _proxy_update)
    r.add_post("/proxies/{proxy}", _proxy_update)  # deprecated in Toxiproxy, still used by clients
    r.add_delete("/proxies/{proxy}", _proxy_delete)
    r.add_get("/proxies/{proxy}/toxics", _toxic_index)
    r.add_post("/proxies/{proxy}/toxics", _toxic_create)
    r.add_get("/proxies/{proxy}/toxics/{toxic}", _toxic_show)
    r.add_patch("/proxies/{proxy}/toxics/{toxic}", _toxic_update)
    r.add_post("/proxies/{proxy}/toxics/{toxic}", _toxic_update)
    r.add_delete("/proxies/{proxy}/toxics/{toxic}", _toxic_delete)
    r.add_post("/reset", _reset)
    r.add_get("/version", _version)
    return app


# --- middleware -------------------------------------------------------------

@web.middleware
async def _request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers["X-Toxiproxy-Request-Id"] = secrets.token_hex(10)
    return response


@web.middleware
async def _block_browsers(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Toxiproxy's anti-CSRF rule: a browser must not drive the API from a web page.
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return web.Response(status=403, text="User agent not allowed")
    return await handler(request)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return _error(error)
    except web.HTTPException:
        raise
    except Exception as error:
        log.exception("%s %s failed", request.method, request.path)
        return _error(ApiError(str(error) or type(error).__name__, 500))


def _error(error: ApiError, **extra: Any) -> web.Response:
    return _json({"error": error.message, "status": error.status, **extra}, error.status)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps(data, separators=(",", ":")))


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise ApiError("bad request body: EOF", 400)
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ApiError(f"bad request body: {error}", 400) from None


def _collection(request: web.Request) -> ProxyCollection:
    return request.app[COLLECTION]


# --- proxies ------------------------------------------------------------------

async def _proxy_index(request: web.Request) -> web.Response:
    proxies = _collection(request).proxies
    return _json({name: proxy.to_json() for name, proxy in proxies.items()})


async def _proxy_create(request: web.Request) -> web.Response:
    spec = ProxySpec.from_json(await _body(request))
    collection = _collection(request)
    async with collection.lock:
        proxy = await collection.add(spec)
    return _json(proxy.to_json(), 201)


async def _populate(request: web.Request) -> web.Response:
    collection = _collection(request)
    async with collection.lock:
        try:
            proxies, error = await collection.populate(await _body(request))
        except ApiError as invalid:
            return _error(invalid, proxies=None)
    listed = [proxy.to_json() for proxy in proxies] or None  # Go marshals an empty slice as null
    if error is not None:
        return _error(error, proxies=listed)
    return _json({"proxies": listed}, 201)


async def _proxy_show(request: web.Request) -> web.Response:
    return _json(_collection(request).get(request.match_info["proxy"]).to_json())


async def _proxy_update(request: web.Request) -> web.Response:
    collection = _collection(request)
    body = await _body(request)
    async with collection.lock:
        proxy = collection.get(request.match_info["proxy"])
        # Pre-filled with the current values, so {"enabled": false} alone is enough.
        spec = ProxySpec.from_json({"name": proxy.name, "listen": proxy.listen,
                                    "upstream": proxy.upstream, "enabled": proxy.enabled,
                                    **_without_name(body)})
        await proxy.update(spec.listen, spec.upstream, spec.enabled)
    return _json(proxy.to_json())


def _without_name(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError("bad request body: expected a JSON object", 400)
    current = {"name", "listen", "upstream", "enabled"}
    # Drop case variants of known keys so the given value wins over the pre-filled one.
    merged: dict[str, Any] = {}
    for key, value in body.items():
        folded = key.casefold() if isinstance(key, str) else key
        if folded == "name":
            continue
        merged[folded if folded in current else key] = value
    return merged


async def _proxy_delete(request: web.Request) -> web.Response:
    collection = _collection(request)
    async with collection.lock:
        collection.remove(request.match_info["proxy"])
    return web.Response(status=204)


# --- toxics -------------------------------------------------------------------

async def _toxic_index(request: web.Request) -> web.Response:
    proxy = _collection(request).get(request.match_info["proxy"])
    return _json(proxy.to_json()["toxics"])


async def _toxic_create(request: web.Request) -> web.Response:
    collection = _collection(request)
    proxy = collection.get(request.match_info["proxy"])
    entry = ToxicEntry.from_json(await _body(request))
    async with collection.lock:
        proxy.add_toxic(entry)
    return _json(entry.to_json())  # 200, not 201: Toxiproxy never sets the status here


async def _toxic_show(request: web.Request) -> web.Response:
    proxy = _collection(request).get(request.match_info["proxy"])
    return _json(proxy.toxic(request.match_info["toxic"]).to_json())


async def _toxic_update(request: web.Request) -> web.Response:
    collection = _collection(request)
    proxy = collection.get(request.match_info["proxy"])
    proxy.toxic(request.match_info["toxic"])
    body = await _body(request)
    async with collection.lock:
        entry = proxy.update_toxic(request.match_info["toxic"], body)
    return _json(entry.to_json())


async def _toxic_delete(request: web.Request) -> web.Response:
    collection = _collection(request)
    async with collection.lock:
        collection.get(request.match_info["proxy"]).remove_toxic(request.match_info["toxic"])
    return web.Response(status=204)


# --- server -------------------------------------------------------------------

async def _reset(request: web.Request) -> web.Response:
    collection = _collection(request)
    async with collection.lock:
        await collection.reset()
    return web.Response(status=204)


async def _version(request: web.Request) -> web.Response:
    return web.Response(text=json.dumps({"version": VERSION}) + "\n",
                        content_type="application/json", charset="utf-8")
