"""Gateway: the per-zone API gateway (Zuul's role) in front of the streaming services.

Routes ``GET /play/{title}`` → playback, ``GET /recommendations/{user}`` →
recommendations and ``POST /pay`` → payments ``/charges``. Every upstream call
goes through :class:`~targets.common.client.UpstreamClient` (retries on another
instance, a circuit breaker per upstream, per-attempt timeouts, passive
ejection) and every request through priority load shedding.

FIT (``targets.common.fit``): the request's cohort header goes on to every
upstream call, and the fault rules set over ``/admin/fit`` ("calls to
playback fail for the experiment cohort") apply in those clients, each cohort
behind its own circuit breaker.

``POST /pay`` is retried only because it carries an ``Idempotency-Key``. Each
payment the gateway acknowledges (2xx) is written to its ack journal, and
``GET /audit`` checks every acknowledged key is in a payments ledger:
"no acknowledged payment is lost", next to payments' "no double charge".

Tunables (topology ``env:``): ``GATEWAY_MAX_CONCURRENCY`` (``WORKERS`` if set, else 64),
``GATEWAY_QUEUE_WAIT_MS`` (250), ``PLAYBACK_TIMEOUT_MS`` (500),
``RECOMMENDATIONS_TIMEOUT_MS`` (1000), ``PAYMENTS_TIMEOUT_MS`` (2000),
``PAYMENTS_TRIALS`` (10: probes in a row its half-open breaker lets fail before reopening).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from targets.common.app import CONFIG, FIT, METRICS, make_app, serve
from targets.common.audit import payments_audit
from targets.common.client import UpstreamClient, is_failure
from targets.common.config import Config, command_line
from targets.common.pool import NoInstanceError
from targets.common.web import failure_response, forwarded, relay, shedding_middleware
from targets.patterns.circuit_breaker import CircuitOpenError
from targets.patterns.load_shedding import LoadShedder

CLIENTS: web.AppKey[dict[str, UpstreamClient]] = web.AppKey("clients", dict)
JOURNAL: web.AppKey[sqlite3.Connection] = web.AppKey("journal", sqlite3.Connection)
SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("session", aiohttp.ClientSession)
TIMEOUTS = {"playback": ("PLAYBACK_TIMEOUT_MS", 500.0),
            "recommendations": ("RECOMMENDATIONS_TIMEOUT_MS", 1000.0),
            "payments": ("PAYMENTS_TIMEOUT_MS", 2000.0)}


def _trials(config: Config, upstream: str) -> int:
    """Probes in a row a half-open breaker lets fail before it reopens.

    Payments has no fallback: while its breaker is open every payment is
    refused. After a restart each probe is a new connection, so on a path that
    loses some (stripe_retries.yaml resets or swallows 55 %) three lost probes
    in a row (17 % a round) shut payments out another ``reset_timeout``, and a
    swallowed probe holds the one probe slot for its whole 2 s timeout: in CI
    (2026-12-01) payments was refused for 8 s after it was back. A refused
    payment is a lost sale and a probe to a dead instance a refused connection,
    so payments gets ten, still one at a time (``benchmarks/breaker_trials.py``
    beside a CPU hog, 60 kills each: 5 s or more unpaid after 7 kills with 3,
    after 2 with 10). The others fall back while open and keep the client's 3:
    their probes are the slow requests in a latency fault's p99.
    """
    return int(config.number("PAYMENTS_TRIALS", 10)) if upstream == "payments" else 3


async def _proxy(request: web.Request, upstream: str, method: str, path: str,
                 *, idempotent: bool, body: bytes | None = None) -> tuple[web.Response, bool]:
    client = request.app[CLIENTS].get(upstream)
    if client is None:
        return failure_response(upstream, NoInstanceError(f"{upstream} is not configured")), False
    try:
        reply = await client.request(method, path, idempotent=idempotent,
                                     headers=forwarded(request), body=body)
    except (CircuitOpenError, NoInstanceError) as error:
        return failure_response(upstream, error), False
    except Exception as error:
        if not is_failure(error):
            raise
        return failure_response(upstream, error), False
    return relay(reply), 200 <= reply.status < 300


async def play(request: web.Request) -> web.Response:
    title = request.match_info["title"]
    response, _ = await _proxy(request, "playback", "GET", f"/play/{title}", idempotent=True)
    return response


async def recommendations(request: web.Request) -> web.Response:
    user = request.match_info["user"]
    response, _ = await _proxy(request, "recommendations", "GET",
                               f"/recommendations/{user}", idempotent=True)
    return response


async def pay(request: web.Request) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    body = await request.read()
    # Without a key a retry could charge twice, so only keyed payments are retried.
    response, ok = await _proxy(request, "payments", "POST", "/charges",
                                idempotent=bool(key), body=body)
    if ok and key:
        db = request.app[JOURNAL]
        db.execute("INSERT OR IGNORE INTO acks (key, instance) VALUES (?, ?)",
                   (key, response.headers.get("X-Upstream-Instance", "")))
        request.app[METRICS].inc("payments_acknowledged_total")
    return response


async def audit(request: web.Request) -> web.Response:
    keys = [row[0] for row in request.app[JOURNAL].execute("SELECT key FROM acks")]
    config = request.app[CONFIG]
    return web.json_response(await payments_audit(
        request.app[SESSION], [u.url for u in config.upstream("payments")], keys))


def build_app(config: Config) -> web.Application:
    # Shedding guards the workers: by default it admits as many as there are, so a
    # low-priority request it lets in never queues for a worker ahead of a play.
    shedder = LoadShedder(limit=int(config.number("GATEWAY_MAX_CONCURRENCY",
                                                  config.workers or 64)),
                          max_wait=config.number("GATEWAY_QUEUE_WAIT_MS", 250) / 1000,
                          enabled=config.enabled("load_shedding"))
    app = make_app(config, middlewares=(shedding_middleware(shedder),))
    app[METRICS].collect("gauge", lambda: [("inflight_requests", {}, float(shedder.inflight))])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                        connector=aiohttp.TCPConnector(limit=0))
        app[SESSION] = session
        app[CLIENTS] = {
            name: UpstreamClient(name, config, session, app[METRICS],
                                 attempt_timeout=config.number(env, default) / 1000,
                                 fit=app[FIT], trials=_trials(config, name))
            for name, (env, default) in TIMEOUTS.items() if config.upstream(name)
        }
        journal = sqlite3.connect(str(config.data_dir / "gateway-acks.db"), isolation_level=None)
        journal.execute("PRAGMA journal_mode=WAL")
        journal.execute("CREATE TABLE IF NOT EXISTS acks (key TEXT PRIMARY KEY, instance TEXT)")
        app[JOURNAL] = journal
        yield
        await session.close()
        journal.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/play/{title}", play)
    app.router.add_get("/recommendations/{user}", recommendations)
    app.router.add_post("/pay", pay)
    app.router.add_get("/audit", audit)
    return app


def main() -> None:
    config, _ = command_line("gateway")
    serve(build_app(config), config)


if __name__ == "__main__":
    main()
