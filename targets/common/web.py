"""HTTP glue shared by the routing services (gateway, edge): errors → status codes, shedding.

When a dependency call fails after every defence, the caller gets a precise
status, the convention of load balancers: ``503`` when we refused without
trying (breaker open, load shed, no instance), ``504`` when the upstream did
not answer in time, ``502`` when it answered badly or the connection broke.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware

from targets.common.app import FIT, METRICS, SYSTEM_PATHS, Handler
from targets.common.client import Reply, UpstreamStatusError
from targets.common.pool import NoInstanceError
from targets.patterns.circuit_breaker import CircuitOpenError
from targets.patterns.load_shedding import (
    PRIORITY_HEADER,
    LoadShedder,
    ShedError,
    priority_of,
)

SHED_HEADER = "X-Shed"
"""Marks a refusal by load shedding: back-pressure, not a failed region (no failover)."""
PASSED_ON = ("X-Priority", "X-User-Id", "Idempotency-Key", "Content-Type", "X-Request-Id")
"""Request headers forwarded to upstreams."""


def forwarded(request: web.Request) -> dict[str, str]:
    """The headers an upstream call carries on: ``PASSED_ON`` and the request's cohort (FIT)."""
    headers = {k: request.headers[k] for k in PASSED_ON if k in request.headers}
    cohort = request.app[FIT].header
    if cohort in request.headers:
        headers[cohort] = request.headers[cohort]
    return headers


def relay(reply: Reply, extra: Mapping[str, str] | None = None) -> web.Response:
    headers = {**reply.headers, "X-Upstream-Instance": reply.instance, **(extra or {})}
    return web.Response(status=reply.status, body=reply.body, headers=headers)


def failure_response(upstream: str, error: BaseException) -> web.Response:
    """The status a caller sees when ``upstream`` could not be used."""
    if isinstance(error, CircuitOpenError | NoInstanceError):
        status, reason = 503, str(error)
    elif isinstance(error, TimeoutError):
        status, reason = 504, f"{upstream} did not answer in time"
    elif isinstance(error, UpstreamStatusError):
        status, reason = 502, f"{upstream} answered {error.reply.status}"
    elif isinstance(error, aiohttp.ClientError | OSError):
        status, reason = 502, f"{upstream} unreachable: {type(error).__name__}"
    else:
        raise error
    return web.Response(status=status, content_type="application/json",
                        headers={"Retry-After": "1"} if status == 503 else None,
                        text=json.dumps({"error": reason, "upstream": upstream}))


def shedding_middleware(shedder: LoadShedder) -> Middleware:
    """Admit each request by its ``X-Priority``; refused ones get 503 + Retry-After."""

    @web.middleware
    async def shed(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in SYSTEM_PATHS or request.path.startswith("/admin"):
            return await handler(request)
        priority = priority_of(request.headers.get(PRIORITY_HEADER))
        try:
            async with shedder.admit(priority):
                return await handler(request)
        except ShedError as error:
            request.app[METRICS].inc("load_shed_total", priority=priority)
            return web.Response(status=503, headers={"Retry-After": str(error.retry_after),
                                                     SHED_HEADER: priority},
                                content_type="application/json",
                                text=json.dumps({"error": str(error), "priority": priority}))

    return shed
