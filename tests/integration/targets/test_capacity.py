"""Explicit capacity (``WORKERS`` x ``SERVICE_MS``): a property of the service, not of the CPU.

In-process servers on 127.0.0.1. Only lower bounds on time are asserted (work
cannot finish faster than its service time), so a slow machine cannot trip them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from targets import gateway, playback, ratings
from targets.common.config import Config, Upstream, command_line

pytestmark = pytest.mark.integration


def config(service: str, tmp_path: Path, env: Mapping[str, str],
           upstreams: Mapping[str, str] | None = None,
           disabled: frozenset[str] = frozenset()) -> Config:
    return Config(service=service, instance=f"{service}-0", zone="z", region="r",
                  host="127.0.0.1", port=0,
                  upstreams={s: (Upstream(instance=f"{s}-0", url=u),)
                             for s, u in (upstreams or {}).items()},
                  disabled=disabled, data_dir=tmp_path, env=dict(env))


@pytest.fixture
async def serve() -> AsyncIterator[list[TestServer]]:
    servers: list[TestServer] = []
    yield servers
    for server in servers:
        await server.close()


async def start(servers: list[TestServer], app: web.Application) -> str:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    servers.append(server)
    return str(server.make_url("")).rstrip("/")


async def fire(url: str, n: int, **headers: str) -> tuple[list[aiohttp.ClientResponse], float]:
    async with aiohttp.ClientSession() as session:
        async def one(i: int) -> aiohttp.ClientResponse:
            async with session.get(url.format(i=i), headers=headers) as response:
                await response.read()
                return response
        started = time.monotonic()
        answers = await asyncio.gather(*(one(i) for i in range(n)))
        return list(answers), time.monotonic() - started


async def test_k_workers_serve_k_requests_per_service_time(
        serve: list[TestServer], tmp_path: Path) -> None:
    url = await start(serve, ratings.build_app(
        config("ratings", tmp_path, {"WORKERS": "2", "SERVICE_MS": "150"})))
    answers, took = await fire(url + "/ratings/u{i}", 6)
    assert [a.status for a in answers] == [200] * 6
    # 6 requests on 2 workers: three rounds of 150 ms, one after the other.
    assert took >= 0.44
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        metrics = await response.text()
    assert "capacity_workers" in metrics and "capacity_queued" in metrics


async def test_health_and_metrics_skip_the_queue(serve: list[TestServer], tmp_path: Path) -> None:
    url = await start(serve, ratings.build_app(
        config("ratings", tmp_path, {"WORKERS": "1", "SERVICE_MS": "2000"})))
    async with aiohttp.ClientSession() as session:
        busy = asyncio.ensure_future(session.get(url + "/ratings/u"))
        await asyncio.sleep(0.1)
        async with session.get(url + "/health", timeout=aiohttp.ClientTimeout(total=1)) as r:
            assert r.status == 200
        busy.cancel()


@pytest.mark.parametrize("shedding", [True, False], ids=["shedding", "no-shedding"])
async def test_the_gateway_sheds_low_priority_at_half_its_workers(
        serve: list[TestServer], tmp_path: Path, shedding: bool) -> None:
    upstream = await start(serve, playback.build_app(config("playback", tmp_path, {})))
    url = await start(serve, gateway.build_app(config(
        "gateway", tmp_path, {"WORKERS": "4", "SERVICE_MS": "500"}, {"playback": upstream},
        disabled=frozenset() if shedding else frozenset({"load_shedding"}))))
    answers, took = await fire(url + "/play/t{i}", 8, **{"X-Priority": "low"})
    statuses = sorted(a.status for a in answers)
    if shedding:
        # The shedder admits as many as there are workers, low priority half of them:
        # 2 served at once, the other 6 refused at once rather than queued.
        assert statuses == [200] * 2 + [503] * 6
        assert all(a.headers.get("X-Shed") == "low" for a in answers if a.status == 503)
    else:
        # Everything queues for the 4 workers: two rounds of 500 ms.
        assert statuses == [200] * 8
        assert took >= 0.99


def test_flags_set_the_capacity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAOSKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WORKERS", "8")
    cfg, _ = command_line("ratings", ["--workers", "3", "--service-ms", "20"])
    assert (cfg.workers, cfg.service_ms) == (3, 20.0)  # flags win over the environment
    cfg, _ = command_line("ratings", [])
    assert (cfg.workers, cfg.service_ms) == (8, 0.0)
