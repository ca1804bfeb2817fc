"""The edge in-process over real 127.0.0.1 gateways (stand-ins that name their region)."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from targets_support import MakeConfig, Servers

from targets import edge
from targets.common.app import METRICS
from targets.common.config import Config, Upstream


def region_gateway(region: str) -> web.Application:
    async def play(request: web.Request) -> web.Response:
        return web.json_response({"served_by": region})

    app = web.Application()
    async def health(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/play/{title}", play)
    app.router.add_get("/health", health)
    return app


async def start_edge(servers: Servers, make_config: MakeConfig,
                     disabled: tuple[str, ...] = ()) -> tuple[str, web.Application, dict[str, str]]:
    urls = {r: await servers.url(region_gateway(r)) for r in ("eu-west", "us-east")}
    base = make_config("edge", disabled=disabled, env={"EDGE_HEALTH_INTERVAL_MS": "50"})
    config = Config(**{**base.__dict__, "upstreams": {"gateway": tuple(
        Upstream(instance=f"gw-{r}", url=u, region=r) for r, u in urls.items())}})
    app = edge.build_app(config)
    return await servers.url(app), app, urls


async def plays(url: str, users: list[str]) -> list[tuple[int, str]]:
    async with aiohttp.ClientSession() as session:
        out = []
        for user in users:
            async with session.get(f"{url}/play/x", headers={"X-User-Id": user}) as r:
                out.append((r.status, r.headers.get("X-Edge-Region", "")))
        return out


USERS = [f"u{i}" for i in range(40)]


async def test_fails_over_when_a_region_dies(servers: Servers, make_config: MakeConfig) -> None:
    url, app, urls = await start_edge(servers, make_config)
    assert {region for _, region in await plays(url, USERS)} == {"eu-west", "us-east"}
    east = next(s for s in servers.servers if str(s.make_url("")).rstrip("/") == urls["us-east"])
    await east.close()
    answers = await plays(url, USERS)
    assert answers == [(200, "eu-west")] * len(USERS)
    assert app[METRICS].value("edge_failovers_total") > 0


async def test_without_failover_a_dead_region_fails_its_users(
        servers: Servers, make_config: MakeConfig) -> None:
    url, _, urls = await start_edge(servers, make_config, disabled=("failover",))
    east = next(s for s in servers.servers if str(s.make_url("")).rstrip("/") == urls["us-east"])
    await east.close()
    statuses = [status for status, _ in await plays(url, USERS)]
    assert 502 in statuses and 200 in statuses


async def test_evacuation_and_failback_over_http(servers: Servers,
                                                 make_config: MakeConfig) -> None:
    url, _, _ = await start_edge(servers, make_config)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/admin/evacuate",
                                json={"region": "us-east", "step_seconds": 0.05}) as r:
            assert r.status == 202
        await asyncio.sleep(0.3)
        assert {region for _, region in await plays(url, USERS)} == {"eu-west"}
        metrics = await (await session.get(f"{url}/metrics")).text()
        assert 'edge_evacuated_fraction{instance="edge-test-0",region="us-east"' in metrics
        async with session.post(f"{url}/admin/failback", json={"step_seconds": 0.05}) as r:
            assert r.status == 202
        await asyncio.sleep(0.3)
        state = await (await session.get(f"{url}/admin/state")).json()
        assert state["regions"]["us-east"]["evacuated_fraction"] == 0.0
        async with session.post(f"{url}/admin/evacuate", json={"region": "mars"}) as r:
            assert r.status == 400
    assert {region for _, region in await plays(url, USERS)} == {"eu-west", "us-east"}


async def test_a_gateway_5xx_answer_is_relayed_not_failed_over(
        servers: Servers, make_config: MakeConfig) -> None:
    async def failing(request: web.Request) -> web.Response:
        return web.json_response({"error": "playback down"}, status=502)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({})

    sick = web.Application()
    sick.router.add_get("/play/{title}", failing)
    sick.router.add_get("/health", health)
    urls = {"eu-west": await servers.url(region_gateway("eu-west")),
            "us-east": await servers.url(sick)}
    base = make_config("edge", env={"EDGE_HEALTH_INTERVAL_MS": "50"})
    config = Config(**{**base.__dict__, "upstreams": {"gateway": tuple(
        Upstream(instance=f"gw-{r}", url=u, region=r) for r, u in urls.items())}})
    url = await servers.url(edge.build_app(config))
    answers = await plays(url, USERS)
    assert (502, "us-east") in answers and (200, "eu-west") in answers
    assert {a for a in answers if a[0] == 200} == {(200, "eu-west")}
