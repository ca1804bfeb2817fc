"""The gateway in-process, over real 127.0.0.1 playback servers: each defence on and off."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from targets_support import MakeConfig, Servers

from targets import gateway, playback
from targets.common.app import METRICS


async def start_gateway(servers: Servers, make_config: MakeConfig, playback_urls: list[str],
                        **kw: object) -> tuple[str, web.Application]:
    app = gateway.build_app(make_config("gateway", upstreams={"playback": playback_urls}, **kw))
    return await servers.url(app), app


async def start_playbacks(servers: Servers, make_config: MakeConfig, n: int) -> list[str]:
    return [await servers.url(playback.build_app(make_config("playback", instance=f"pb-{i}")))
            for i in range(n)]


async def burst(url: str, n: int, **headers: str) -> list[int]:
    async with aiohttp.ClientSession() as session:
        statuses = []
        for i in range(n):
            async with session.get(f"{url}/play/t{i}", headers=headers) as response:
                statuses.append(response.status)
        return statuses


async def test_spreads_plays_over_the_instances(servers: Servers, make_config: MakeConfig) -> None:
    playbacks = await start_playbacks(servers, make_config, 3)
    url, _ = await start_gateway(servers, make_config, playbacks)
    async with aiohttp.ClientSession() as session:
        seen = set()
        for _ in range(6):
            async with session.get(f"{url}/play/dark") as response:
                assert response.status == 200
                seen.add((await response.json())["instance"])
    assert seen == {"pb-0", "pb-1", "pb-2"}


async def test_a_dead_instance_is_hidden_by_retries(servers: Servers,
                                                    make_config: MakeConfig) -> None:
    # The dead instance's port is a closed one: connection refused, like a killed process.
    dead = await servers.start(web.Application())
    dead_url = str(dead.make_url("")).rstrip("/")
    await dead.close()
    url, app = await start_gateway(
        servers, make_config, [dead_url, *await start_playbacks(servers, make_config, 2)])
    assert await burst(url, 30) == [200] * 30
    assert app[METRICS].value("upstream_retries_total", upstream="playback") >= 1


async def test_without_retries_the_dead_instance_shows(servers: Servers,
                                                       make_config: MakeConfig) -> None:
    dead = await servers.start(web.Application())
    dead_url = str(dead.make_url("")).rstrip("/")
    await dead.close()
    url, _ = await start_gateway(servers, make_config,
                                 [dead_url, *await start_playbacks(servers, make_config, 2)],
                                 disabled=("retries",))
    statuses = await burst(url, 30)
    assert statuses.count(502) == 10 and statuses.count(200) == 20


async def test_the_breaker_opens_when_every_instance_fails(servers: Servers,
                                                           make_config: MakeConfig) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    sick = web.Application()
    sick.router.add_get("/play/{title}", broken)
    url, app = await start_gateway(servers, make_config, [await servers.url(sick)])
    statuses = await burst(url, 10)
    assert statuses[0] == 502 and 503 in statuses
    assert app[METRICS].value("circuit_breaker_state", upstream="playback") == 2
    assert app[METRICS].value("circuit_breaker_rejected_total", upstream="playback") >= 1


async def test_without_the_breaker_every_call_reaches_the_sick_upstream(
        servers: Servers, make_config: MakeConfig) -> None:
    hits = 0

    async def broken(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.Response(status=500)

    sick = web.Application()
    sick.router.add_get("/play/{title}", broken)
    url, _ = await start_gateway(servers, make_config, [await servers.url(sick)],
                                 disabled=("circuit_breaker", "retries"))
    assert await burst(url, 10) == [502] * 10
    assert hits == 10


async def test_a_slow_upstream_is_a_504(servers: Servers, make_config: MakeConfig) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/play/{title}", slow)
    url, _ = await start_gateway(servers, make_config, [await servers.url(app)],
                                 env={"PLAYBACK_TIMEOUT_MS": "50"}, disabled=("retries",))
    assert await burst(url, 1) == [504]


async def test_sheds_low_priority_and_keeps_critical(servers: Servers,
                                                     make_config: MakeConfig) -> None:
    release = asyncio.Event()

    async def busy(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/play/{title}", busy)
    env = {"GATEWAY_MAX_CONCURRENCY": "4", "GATEWAY_QUEUE_WAIT_MS": "2000"}
    url, gw = await start_gateway(servers, make_config, [await servers.url(app)], env=env)
    async with aiohttp.ClientSession() as session:
        async def get(priority: str) -> tuple[int, str | None]:
            async with session.get(f"{url}/play/x", headers={"X-Priority": priority}) as r:
                return r.status, r.headers.get("Retry-After")

        held = [asyncio.create_task(get("critical")) for _ in range(2)]
        await asyncio.sleep(0.1)
        assert await get("low") == (503, "1")  # low may use only half of 4 slots
        critical = asyncio.create_task(get("critical"))
        await asyncio.sleep(0.1)
        release.set()
        assert (await critical)[0] == 200
        assert [s for s, _ in await asyncio.gather(*held)] == [200, 200]
    assert gw[METRICS].value("load_shed_total", priority="low") == 1


async def test_without_shedding_low_priority_waits_its_turn(servers: Servers,
                                                            make_config: MakeConfig) -> None:
    release = asyncio.Event()

    async def busy(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/play/{title}", busy)
    url, _ = await start_gateway(servers, make_config, [await servers.url(app)],
                                 env={"GATEWAY_MAX_CONCURRENCY": "1"},
                                 disabled=("load_shedding",))
    async with aiohttp.ClientSession() as session:
        async def get(priority: str) -> int:
            async with session.get(f"{url}/play/x", headers={"X-Priority": priority}) as r:
                return r.status

        tasks = [asyncio.create_task(get(p)) for p in ("critical", "critical", "low", "low")]
        await asyncio.sleep(0.1)
        release.set()
        assert await asyncio.gather(*tasks) == [200] * 4


async def test_only_keyed_payments_are_retried(servers: Servers, make_config: MakeConfig) -> None:
    charges = 0

    async def charge(request: web.Request) -> web.Response:
        nonlocal charges
        charges += 1
        return web.json_response({"id": f"ch_{charges}"}, status=201)

    alive = web.Application()
    alive.router.add_post("/charges", charge)
    dead = await servers.start(web.Application())
    dead_url = str(dead.make_url("")).rstrip("/")
    await dead.close()
    app = gateway.build_app(make_config(
        "gateway", upstreams={"payments": [dead_url, await servers.url(alive)]}))
    url = await servers.url(app)
    async with aiohttp.ClientSession() as session:
        async def pay(key: str | None) -> int:
            headers = {"Idempotency-Key": key} if key else {}
            async with session.post(f"{url}/pay", json={"amount": 1}, headers=headers) as r:
                return r.status

        # Unkeyed first: each one sent to the dead instance fails (until it is ejected).
        unkeyed = [await pay(None) for _ in range(6)]
        keyed = [await pay(f"k{i}") for i in range(6)]
    assert unkeyed.count(502) == 3 and unkeyed.count(201) == 3
    assert keyed == [201] * 6


async def test_payments_gets_more_half_open_probes_than_upstreams_with_a_fallback(
        servers: Servers, make_config: MakeConfig) -> None:
    upstreams = {"playback": ["http://127.0.0.1:9"], "payments": ["http://127.0.0.1:9"]}
    app = gateway.build_app(make_config("gateway", upstreams=upstreams))
    await servers.url(app)
    clients = app[gateway.CLIENTS]
    assert clients["payments"].breaker.trials == 10
    assert clients["playback"].breaker.trials == 3
    tuned = gateway.build_app(make_config("gateway", upstreams=upstreams,
                                          env={"PAYMENTS_TRIALS": "4"}))
    await servers.url(tuned)
    assert tuned[gateway.CLIENTS]["payments"].breaker.trials == 4
