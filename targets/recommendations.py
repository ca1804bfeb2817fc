"""Recommendations: personalised rows, with a stale-data fallback when ratings fails.

``GET /recommendations/{user}`` asks ratings for the user's ratings (timeout
``RATINGS_TIMEOUT_MS``, default 300) and ranks the titles. When ratings errors
or is slow, the last good answer for that user is served if it is at most
``STALE_MAX_SECONDS`` (default 300) old, with ``X-Cache: STALE`` and ``Age``;
a fresh one carries ``X-Cache: MISS``. With ``stale_fallback`` disabled (or no
recent answer) the failure becomes a 503.

The call to ratings goes through the same client as the gateway's, but with
retries off: retrying at one layer only (the gateway) keeps the k^depth
amplification of stacked retries away.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from targets.common.app import CONFIG, FIT, METRICS, make_app, serve
from targets.common.client import UpstreamClient, is_failure
from targets.common.config import Config, command_line
from targets.common.pool import NoInstanceError
from targets.common.web import forwarded
from targets.patterns.circuit_breaker import CircuitOpenError
from targets.patterns.stale_fallback import StaleCache

CACHE: web.AppKey[StaleCache[list[dict[str, Any]]]] = web.AppKey("cache", StaleCache)
RATINGS: web.AppKey[UpstreamClient] = web.AppKey("ratings", UpstreamClient)


async def recommend(request: web.Request) -> web.Response:
    user = request.match_info["user"]
    client = request.app[RATINGS]

    async def fetch() -> list[dict[str, Any]]:
        # idempotent=False: no retry at this layer, the gateway already retries.
        # The request's cohort goes on with it: a FIT rule on ratings hits this call.
        reply = await client.request("GET", f"/ratings/{user}", idempotent=False,
                                     headers=forwarded(request))
        if reply.status != 200:
            raise RuntimeError(f"ratings answered {reply.status}")
        rated = json.loads(reply.body)["ratings"]
        return sorted(rated, key=lambda r: -int(r["score"]))

    try:
        answer = await request.app[CACHE].get(user, fetch)
    except (CircuitOpenError, NoInstanceError, RuntimeError) as error:
        return _unavailable(request, error)
    except Exception as error:
        if not is_failure(error):
            raise
        return _unavailable(request, error)
    now = time.time()
    headers = {"X-Cache": "STALE" if answer.stale else "MISS",
               "Age": str(int(answer.age(now)))}
    if answer.stale:
        request.app[METRICS].inc("stale_served_total")
    return web.json_response({"user": user, "rows": answer.value, "stale": answer.stale,
                              "fetched_at": answer.fetched_at,
                              "instance": request.app[CONFIG].instance}, headers=headers)


def _unavailable(request: web.Request, error: BaseException) -> web.Response:
    request.app[METRICS].inc("dependency_failures_total", upstream="ratings")
    return web.json_response({"error": f"ratings unavailable: {type(error).__name__}"},
                             status=503, headers={"Retry-After": "1"})


def build_app(config: Config) -> web.Application:
    app = make_app(config)
    cache: StaleCache[list[dict[str, Any]]] = StaleCache(
        max_staleness=config.number("STALE_MAX_SECONDS", 300),
        enabled=config.enabled("stale_fallback"))
    app[CACHE] = cache
    app[METRICS].collect("counter", lambda: [("stale_too_old_total", {}, float(cache.too_stale))])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app[RATINGS] = UpstreamClient(
            "ratings", config, session, app[METRICS],
            attempt_timeout=config.number("RATINGS_TIMEOUT_MS", 300) / 1000, fit=app[FIT])
        yield
        await session.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/recommendations/{user}", recommend)
    return app


def main() -> None:
    config, _ = command_line("recommendations")
    serve(build_app(config), config)


if __name__ == "__main__":
    main()
