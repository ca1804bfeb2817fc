"""App factory and runner: every service gets ``/health``, ``/metrics`` and a clean SIGTERM.

Every service also holds the request-level fault rules of its RPC clients
(``/admin/fit``, loopback only; see :mod:`targets.common.fit`).

``make_app`` wires the request counters in a middleware, so a handler only has
to do its own work. ``serve`` runs the app on ``CHAOSKIT_HOST:CHAOSKIT_PORT``;
aiohttp turns SIGTERM/SIGINT into a graceful shutdown (stop accepting, let
in-flight requests finish for up to ``shutdown_timeout``, run cleanups), which
is what an orchestrator's stop expects. SIGKILL, the chaos fault, skips all of it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from targets.common.capacity import Capacity
from targets.common.config import Config
from targets.common.fit import COHORT_HEADER, COHORT_HEADER_ENV, FitRules
from targets.common.metrics import Metrics

CONFIG: web.AppKey[Config] = web.AppKey("config", Config)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
CAPACITY: web.AppKey[Capacity] = web.AppKey("capacity", Capacity)
FIT: web.AppKey[FitRules] = web.AppKey("fit", FitRules)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SYSTEM_PATHS = frozenset({"/health", "/metrics"})


def make_app(config: Config, middlewares: tuple[Middleware, ...] = ()) -> web.Application:
    """An application with health, metrics and request accounting for ``config``'s instance.

    ``middlewares`` run inside the accounting one, so a shed request is still counted,
    and outside the capacity one (``WORKERS``/``SERVICE_MS``), so shedding refuses
    work before it queues for a worker.
    """
    metrics = Metrics(constant={"service": config.service, "instance": config.instance,
                                "zone": config.zone, "region": config.region})
    capacity = Capacity(config.workers, config.service_ms / 1000)
    inner = (_capacity_middleware(capacity),) if capacity.limited else ()
    app = web.Application(middlewares=[_accounting, *middlewares, *inner])
    app[CONFIG] = config
    app[METRICS] = metrics
    app[CAPACITY] = capacity
    fit = FitRules(header=config.env.get(COHORT_HEADER_ENV) or COHORT_HEADER)
    app[FIT] = fit
    app.router.add_routes(fit.routes())
    metrics.collect("counter", fit.counters)
    metrics.collect("gauge", fit.samples)
    if capacity.limited:
        metrics.collect("gauge", capacity.samples)
    started = time.time()
    metrics.collect("gauge", lambda: [("process_uptime_seconds", {}, time.time() - started)])

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": config.service,
                                  "instance": config.instance, "zone": config.zone,
                                  "region": config.region})

    async def render_metrics(request: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain")

    app.router.add_get("/health", health)
    app.router.add_get("/metrics", render_metrics)
    return app


@web.middleware
async def _accounting(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in SYSTEM_PATHS:
        return await handler(request)
    metrics = request.app[METRICS]
    route = _route(request)
    status = 499  # nginx's "client closed request": the handler was cancelled
    try:
        response = await handler(request)
    except web.HTTPException as error:
        status = error.status
        raise
    except Exception:
        status = 500
        raise
    else:
        status = response.status
    finally:
        metrics.inc("http_requests_total", route=route, code=str(status))
        if status >= 500:
            metrics.inc("http_errors_total", route=route)
    return response


def _capacity_middleware(capacity: Capacity) -> Middleware:
    @web.middleware
    async def serve(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in SYSTEM_PATHS or request.path.startswith("/admin"):
            return await handler(request)
        async with capacity.serve():
            return await handler(request)

    return serve


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    if info is None:
        return "unmatched"
    # "/play/{title}" → "/play/:title": braces inside label values trip simple scrapers.
    return re.sub(r"\{(\w+)\}", r":\1", info.canonical)


def serve(app: web.Application, config: Config) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully."""
    print(f"{config.service} {config.instance} listening on http://{config.host}:{config.port}",
          flush=True)
    web.run_app(app, host=config.host, port=config.port, access_log=None, print=None,
                shutdown_timeout=2.0, handle_signals=True)
