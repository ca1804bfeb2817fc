"""Edge: the global entry (DNS / global load balancer role) with region failover and Chaos Kong.

Each user has a *home region* (a stable hash of ``X-User-Id``, else the
``user`` query parameter, else the user in ``/recommendations/{user}``), and
the edge sends them to a gateway there, retrying on another gateway of the
same region when one fails.

Defence ``failover``: a region whose gateways all fail their health checks
(every ``EDGE_HEALTH_INTERVAL_MS``, default 500) is skipped, and an idempotent
request whose region's gateways cannot be reached (refused, timed out, breaker
open) is sent to another region. A gateway's 5xx answer is relayed as it is.

Chaos Kong, as Netflix ran it, is an *evacuation*, not a crash:
``POST /admin/evacuate {"region": "us-east", "step_seconds": 5}`` shifts the
region's users elsewhere step by step (``steps``, default 25% → 50% → 75% →
100%; each user moves once, chosen by a second hash so the shift is sticky),
so the other region's capacity scales with the traffic instead of taking it
all at once. ``POST /admin/failback {"region": ..., "step_seconds": ..}``
brings them back the same way. ``GET /admin/state`` shows health, evacuated
fractions and traffic shares; ``/metrics`` has ``edge_traffic_share{region}``
(last 10 s), ``edge_routed_total{region}``, ``edge_evacuated_fraction{region}``,
``edge_region_healthy{region}`` and ``edge_failovers_total{from_region,to_region}``.

``GET /audit`` sums the payments audit of every gateway (see
:mod:`targets.common.audit`), counting each payments ledger once.

A request's cohort header (ChAP's control/experiment cohorts, set by the
load) is passed on to the gateways, which pass it on to their dependencies;
see :mod:`targets.common.fit`.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from targets.common.app import CONFIG, FIT, METRICS, make_app, serve
from targets.common.audit import summarize
from targets.common.client import Reply, UpstreamClient, is_failure
from targets.common.config import Config, command_line
from targets.common.pool import NoInstanceError
from targets.common.web import failure_response, forwarded, relay
from targets.patterns.circuit_breaker import CircuitOpenError
from targets.patterns.failover import RegionRouter

ROUTER: web.AppKey[RegionRouter] = web.AppKey("router", RegionRouter)
SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("session", aiohttp.ClientSession)
CLIENTS: web.AppKey[dict[str, UpstreamClient]] = web.AppKey("clients", dict)


def user_of(request: web.Request) -> str:
    return (request.headers.get("X-User-Id") or request.query.get("user")
            or request.match_info.get("user") or f"anon-{random.randrange(1 << 30)}")


async def _route(request: web.Request, method: str, path: str, *, idempotent: bool,
                 body: bytes | None = None) -> web.Response:
    router, clients = request.app[ROUTER], request.app[CLIENTS]
    user = user_of(request)
    region = router.choose(user)
    last_error: BaseException = NoInstanceError("no region has a gateway")
    for target in router.candidates(region, idempotent=idempotent):
        if target != region:  # skipped an unhealthy region, or its attempt failed
            request.app[METRICS].inc("edge_failovers_total", from_region=region,
                                     to_region=target)
        router.count(target)
        try:
            reply: Reply = await clients[target].request(
                method, path, idempotent=idempotent, headers=forwarded(request), body=body)
        except Exception as error:
            # The region's gateways could not be reached: the next region, if any.
            if not (is_failure(error) or isinstance(error, CircuitOpenError | NoInstanceError)):
                raise
            last_error = error
            continue
        # An answer, even a 5xx, is relayed: the gateway already retried behind it,
        # and moving a request across regions for one failed backend call would hide
        # what the zone and instance defences are there to handle.
        return relay(reply, {"X-Edge-Region": target, "X-Home-Region": router.home(user)})
    return failure_response("gateway", last_error)


async def play(request: web.Request) -> web.Response:
    return await _route(request, "GET", f"/play/{request.match_info['title']}", idempotent=True)


async def recommendations(request: web.Request) -> web.Response:
    return await _route(request, "GET", f"/recommendations/{request.match_info['user']}",
                        idempotent=True)


async def pay(request: web.Request) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    return await _route(request, "POST", "/pay", idempotent=bool(key), body=await request.read())


async def evacuate(request: web.Request) -> web.Response:
    return await _shift(request, evacuate=True)


async def failback(request: web.Request) -> web.Response:
    return await _shift(request, evacuate=False)


async def _shift(request: web.Request, *, evacuate: bool) -> web.Response:
    router = request.app[ROUTER]
    try:
        data = json.loads(await request.read() or b"{}")
        regions = [data["region"]] if data.get("region") else (
            [] if evacuate else router.evacuated_regions())
        if evacuate and not regions:
            raise ValueError("evacuate needs a region")
        steps = [float(s) for s in data.get("steps", (0.25, 0.5, 0.75, 1.0))]
        for region in regions:
            router.shift(region, steps if evacuate else [1 - s for s in steps],
                         float(data.get("step_seconds", 5)))
    except (ValueError, KeyError, TypeError) as error:
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response(router.state(), status=202)


async def state(request: web.Request) -> web.Response:
    return web.json_response(request.app[ROUTER].state())


async def audit(request: web.Request) -> web.Response:
    config, session = request.app[CONFIG], request.app[SESSION]

    async def ask(url: str) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(10), session.get(f"{url}/audit") as response:
                if response.status != 200:
                    return None
                answer: dict[str, Any] = await response.json()
                return answer if "acknowledged" in answer else None
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            return None

    answers = await asyncio.gather(*(ask(u.url) for u in config.upstream("gateway")))
    got = [a for a in answers if a is not None]
    ledgers: dict[str, dict[str, int]] = {}
    for answer in got:
        ledgers.update(answer.get("payments", {}))
    result = summarize(sum(a["acknowledged"] for a in got), sum(a["lost"] for a in got),
                       sum(a["unverified"] for a in got),
                       sum(a["payments_unreachable"] for a in got), ledgers)
    return web.json_response({**result, "gateways_unreachable": len(answers) - len(got)})


def build_app(config: Config) -> web.Application:
    gateways = config.upstream("gateway")
    router = RegionRouter(sorted({g.region for g in gateways}) or ["local"],
                    failover=config.enabled("failover"))
    app = make_app(config)
    app[ROUTER] = router
    app[METRICS].collect("gauge", router.samples)
    app[METRICS].collect("counter", router.counters)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app[SESSION] = session
        app[CLIENTS] = {
            # Two attempts of 2 s in a region, then the other region: an isolated
            # (black-holed) region costs a request ~4 s, inside a client's 5 s.
            region: UpstreamClient(f"gateway@{region}", config, session, app[METRICS],
                                   attempt_timeout=config.number("EDGE_TIMEOUT_MS", 2000) / 1000,
                                   attempts=2, answers_fail=False, fit=app[FIT],
                                   upstreams=[g for g in gateways if g.region == region])
            for region in router.regions
        }
        health = asyncio.create_task(router.watch(
            session, {r: [g.url for g in gateways if g.region == r] for r in router.regions},
            config.number("EDGE_HEALTH_INTERVAL_MS", 500) / 1000))
        yield
        health.cancel()
        await router.stop()
        await session.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/play/{title}", play)
    app.router.add_get("/recommendations/{user}", recommendations)
    app.router.add_post("/pay", pay)
    app.router.add_get("/audit", audit)
    app.router.add_post("/admin/evacuate", evacuate)
    app.router.add_post("/admin/failback", failback)
    app.router.add_get("/admin/state", state)
    return app


def main() -> None:
    config, _ = command_line("edge")
    serve(build_app(config), config)


if __name__ == "__main__":
    main()
