"""Payments over HTTP: the idempotency contract, the audit, and double charges without it."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
from targets_support import MakeConfig, Servers

from targets import edge, gateway, payments


async def charge(session: aiohttp.ClientSession, url: str, key: str | None,
                 amount: int = 500) -> tuple[int, dict[str, object]]:
    headers = {"Idempotency-Key": key} if key else {}
    async with session.post(f"{url}/charges", json={"amount": amount}, headers=headers) as r:
        return r.status, await r.json()


async def test_the_idempotency_contract(servers: Servers, make_config: MakeConfig) -> None:
    url = await servers.url(payments.build_app(make_config("payments")))
    async with aiohttp.ClientSession() as session:
        key = str(uuid.uuid4())
        first, again = await charge(session, url, key), await charge(session, url, key)
        assert first[0] == again[0] == 201 and first[1]["id"] == again[1]["id"]
        assert (await charge(session, url, key, amount=999))[0] == 422
        assert (await charge(session, url, None))[0] == 400
        async with session.get(f"{url}/audit") as r:
            audit = await r.json()
    assert audit["violations"] == 0 and audit["charges"] == 1 and audit["keys"] == 1


async def test_concurrent_same_key_requests_charge_once(servers: Servers,
                                                        make_config: MakeConfig) -> None:
    url = await servers.url(payments.build_app(make_config("payments")))
    key = str(uuid.uuid4())
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(charge(session, url, key) for _ in range(8)))
        async with session.get(f"{url}/audit") as r:
            audit = await r.json()
    assert sorted({status for status, _ in results}) == [201, 409]
    assert audit["charges"] == 1 and audit["duplicate_charges"] == 0


async def test_without_idempotency_retries_double_charge(servers: Servers,
                                                         make_config: MakeConfig) -> None:
    url = await servers.url(payments.build_app(
        make_config("payments", disabled=("idempotency",))))
    key = str(uuid.uuid4())
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(charge(session, url, key) for _ in range(3)))
        async with session.get(f"{url}/audit") as r:
            audit = await r.json()
    assert audit["charges"] == 3 and audit["duplicate_charges"] == 2 and audit["violations"] == 2


async def test_the_gateway_audits_acknowledged_payments(servers: Servers,
                                                        make_config: MakeConfig) -> None:
    pay_url = await servers.url(payments.build_app(make_config("payments")))
    gw_url = await servers.url(gateway.build_app(
        make_config("gateway", upstreams={"payments": [pay_url]})))
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.post(f"{gw_url}/pay", json={"amount": 100},
                                    headers={"Idempotency-Key": str(uuid.uuid4())}) as r:
                assert r.status == 201
        async with session.get(f"{gw_url}/audit") as r:
            audit = await r.json()
        assert audit["acknowledged"] == 3 and audit["lost"] == 0 and audit["violations"] == 0
        # A ledger that lost an acknowledged charge is caught.
        async with session.post(f"{gw_url}/pay", json={"amount": 100},
                                headers={"Idempotency-Key": "lost-one"}) as r:
            assert r.status == 201
    for server in servers.servers:
        if str(server.make_url("")).rstrip("/") == pay_url:
            db = server.app[payments.STORE].db
            db.execute("DELETE FROM charges WHERE key = 'lost-one'")
    async with aiohttp.ClientSession() as session, session.get(f"{gw_url}/audit") as r:
        audit = await r.json()
    assert audit["lost"] == 1 and audit["violations"] == 1


async def test_the_edge_audit_counts_each_ledger_once(servers: Servers,
                                                      make_config: MakeConfig) -> None:
    pay_url = await servers.url(payments.build_app(make_config("payments")))
    gateways = [await servers.url(gateway.build_app(make_config(
        "gateway", upstreams={"payments": [pay_url]}, instance=f"gw-{i}"))) for i in range(2)]
    edge_url = await servers.url(edge.build_app(make_config(
        "edge", upstreams={"gateway": gateways})))
    async with aiohttp.ClientSession() as session:
        for i in range(4):
            async with session.post(f"{edge_url}/pay", json={"amount": 100},
                                    headers={"Idempotency-Key": f"k{i}", "X-User-Id": "u"}) as r:
                assert r.status == 201
        async with session.get(f"{edge_url}/audit") as r:
            audit = await r.json()
    assert audit["acknowledged"] == 4 and audit["charges"] == 4 and audit["keys"] == 4
    assert audit["violations"] == 0 and audit["gateways_unreachable"] == 0
