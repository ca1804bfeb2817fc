"""Payments: ``POST /charges`` with Stripe-style idempotency keys, a ledger in SQLite.

The ledger (``payments.db`` under ``CHAOSKIT_DATA_DIR``) holds the charges and
the idempotency keys in one database, committed together (see
:mod:`targets.patterns.idempotency`). A charge takes ``PAYMENTS_WORK_MS``
(default 50) before it commits, standing for the call to a card network, so a
retry can overlap the first attempt (→ 409) as it does in production.

Endpoints:

- ``POST /charges`` — body ``{"amount": int, "currency": str, "customer": str}``,
  header ``Idempotency-Key``; answers 201 and the charge; a replay carries
  ``Idempotent-Replayed: true``. 400 without a key, 409 in flight, 422 other
  parameters. With ``idempotency`` disabled every request charges.
- ``GET /charges/{key}`` — the charges made under a key (404 if none).
- ``POST /charges/lookup`` — ``{"keys": [...]}`` → ``{"found": [...]}``: keys with a charge.
- ``GET /audit`` — ``{"violations", "duplicate_charges", "charges", "keys",
  "instance"}``: duplicate charges are the extra charges of keys charged more
  than once (always 0 while idempotency is on).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
import uuid
from typing import Any

from aiohttp import web

from targets.common.app import CONFIG, METRICS, make_app, serve
from targets.common.config import Config, command_line
from targets.patterns.idempotency import Commit, IdempotencyError, IdempotencyStore, connect

STORE: web.AppKey[IdempotencyStore] = web.AppKey("store", IdempotencyStore)
LEDGER = """
CREATE TABLE IF NOT EXISTS charges (
    id TEXT PRIMARY KEY, key TEXT, amount INTEGER NOT NULL, currency TEXT NOT NULL,
    customer TEXT NOT NULL, created_at REAL NOT NULL)
"""


def _params(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}")
        amount = data["amount"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError("amount must be a positive integer (cents)")
        return {"amount": amount, "currency": str(data.get("currency", "usd")),
                "customer": str(data.get("customer", "anonymous"))}
    except (ValueError, KeyError, TypeError) as error:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"bad charge: {error}"}),
                                 content_type="application/json") from None


async def create_charge(request: web.Request) -> web.Response:
    params = _params(await request.read())
    key = request.headers.get("Idempotency-Key")
    store = request.app[STORE]
    config = request.app[CONFIG]
    fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()

    async def work() -> tuple[int, dict[str, Any], Commit]:
        await asyncio.sleep(config.number("PAYMENTS_WORK_MS", 50) / 1000)
        charge = {"id": f"ch_{uuid.uuid4().hex[:16]}", "key": key, **params,
                  "created_at": time.time(), "instance": config.instance}

        def commit(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO charges VALUES (?, ?, ?, ?, ?, ?)",
                       (charge["id"], key, params["amount"], params["currency"],
                        params["customer"], charge["created_at"]))

        return 201, charge, commit

    try:
        result = await store.execute_once(key, fingerprint, work)
    except IdempotencyError as error:
        request.app[METRICS].inc("idempotency_refused_total", code=str(error.status))
        return web.json_response({"error": str(error)}, status=error.status)
    if result.replayed:
        request.app[METRICS].inc("idempotent_replays_total")
    else:
        request.app[METRICS].inc("charges_total")
    return web.json_response(result.body, status=result.status,
                             headers={"Idempotent-Replayed": "true"} if result.replayed else None)


async def charges_for_key(request: web.Request) -> web.Response:
    rows = request.app[STORE].db.execute(
        "SELECT id, amount, currency, customer, created_at FROM charges WHERE key = ?",
        (request.match_info["key"],)).fetchall()
    if not rows:
        return web.json_response({"error": "no charge under this key"}, status=404)
    fields = ("id", "amount", "currency", "customer", "created_at")
    return web.json_response({"charges": [dict(zip(fields, r, strict=True)) for r in rows]})


async def lookup(request: web.Request) -> web.Response:
    keys = list((await request.json()).get("keys", []))
    db = request.app[STORE].db
    found: set[str] = set()
    for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
        chunk = keys[start:start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in db.execute(
            f"SELECT DISTINCT key FROM charges WHERE key IN ({marks})", chunk))
    return web.json_response({"found": sorted(found)})


def ledger_audit(db: sqlite3.Connection) -> dict[str, int]:
    charges = db.execute("SELECT COUNT(*) FROM charges").fetchone()[0]
    keys = db.execute("SELECT COUNT(DISTINCT key) FROM charges").fetchone()[0]
    duplicates = db.execute(
        "SELECT COALESCE(SUM(n - 1), 0) FROM "
        "(SELECT COUNT(*) AS n FROM charges WHERE key IS NOT NULL GROUP BY key HAVING n > 1)"
    ).fetchone()[0]
    return {"violations": duplicates, "duplicate_charges": duplicates, "charges": charges,
            "keys": keys}


async def audit(request: web.Request) -> web.Response:
    return web.json_response({**ledger_audit(request.app[STORE].db),
                              "instance": request.app[CONFIG].instance})


def build_app(config: Config) -> web.Application:
    app = make_app(config)
    db = connect(str(config.data_dir / "payments.db"))
    db.execute(LEDGER)
    store = IdempotencyStore(db, enabled=config.enabled("idempotency"))
    released = store.recover()
    if released:
        print(f"released {released} idempotency keys left running by a crash", flush=True)
    app[STORE] = store

    async def close(app: web.Application) -> None:
        db.close()

    app.on_cleanup.append(close)
    app.router.add_post("/charges", create_charge)
    app.router.add_post("/charges/lookup", lookup)
    app.router.add_get("/charges/{key}", charges_for_key)
    app.router.add_get("/audit", audit)
    return app


def main() -> None:
    config, _ = command_line("payments")
    serve(build_app(config), config)


if __name__ == "__main__":
    main()
