"""The environment contract, the metrics format chaoskit scrapes, and /health."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from targets_support import MakeConfig, Servers

from chaoskit.probes.metric import parse_metric
from targets import playback
from targets.common.app import METRICS, make_app
from targets.common.config import load_config
from targets.common.metrics import Metrics


def test_reads_the_chaoskit_environment(tmp_path: Path) -> None:
    upstreams = {"playback": [{"instance": "playback-us-east-1a-0", "zone": "us-east-1a",
                               "region": "us-east", "url": "http://127.0.0.1:9001/"}]}
    config = load_config("gateway", {
        "CHAOSKIT_INSTANCE": "gateway-us-east-1a-0", "CHAOSKIT_SERVICE": "gateway",
        "CHAOSKIT_ZONE": "us-east-1a", "CHAOSKIT_REGION": "us-east",
        "CHAOSKIT_HOST": "127.0.0.1", "CHAOSKIT_PORT": "9000",
        "CHAOSKIT_UPSTREAMS": json.dumps(upstreams),
        "CHAOSKIT_DISABLE": "retries, circuit_breaker",
        "CHAOSKIT_DATA_DIR": str(tmp_path / "gw"), "PLAYBACK_TIMEOUT_MS": "250"})
    assert (config.instance, config.zone, config.region, config.port) == (
        "gateway-us-east-1a-0", "us-east-1a", "us-east", 9000)
    (up,) = config.upstream("playback")
    assert up.url == "http://127.0.0.1:9001" and up.zone == "us-east-1a"
    assert not config.enabled("retries") and not config.enabled("circuit_breaker")
    assert config.enabled("load_shedding")
    assert config.number("PLAYBACK_TIMEOUT_MS", 500) == 250
    assert (tmp_path / "gw").is_dir()


def test_standalone_defaults_find_the_other_services(tmp_path: Path) -> None:
    config = load_config("gateway", {"CHAOSKIT_DATA_DIR": str(tmp_path)})
    assert config.port == 8080 and config.host == "127.0.0.1"
    assert config.upstream("playback")[0].url == "http://127.0.0.1:8081"
    assert config.disabled == frozenset()


def test_unknown_defences_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="retrys"):
        load_config("gateway", {"CHAOSKIT_DISABLE": "retrys", "CHAOSKIT_DATA_DIR": str(tmp_path)})


def test_metrics_parse_as_chaoskit_scrapes_them() -> None:
    metrics = Metrics(constant={"service": "gateway", "instance": "gw-0"})
    metrics.inc("load_shed_total", priority="low")
    metrics.inc("load_shed_total", 2, priority="critical")
    metrics.set("circuit_breaker_state", 2, upstream="playback")
    metrics.collect("gauge", lambda: [("edge_traffic_share", {"region": "us-east"}, 0.25)])
    text = metrics.render()
    assert parse_metric(text, "load_shed_total", {}) == 3
    assert parse_metric(text, "load_shed_total", {"priority": "low"}) == 1
    assert parse_metric(text, "circuit_breaker_state", {"upstream": "playback"}) == 2
    assert parse_metric(text, "edge_traffic_share", {"region": "us-east"}) == 0.25
    assert "# TYPE load_shed_total counter" in text


async def test_every_service_has_health_and_counted_requests(
        servers: Servers, make_config: MakeConfig) -> None:
    url = await servers.url(playback.build_app(make_config("playback")))
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/health") as r:
            assert r.status == 200 and (await r.json())["service"] == "playback"
        async with session.get(f"{url}/play/dark") as r:
            assert r.status == 200
        async with session.get(f"{url}/nope") as r:
            assert r.status == 404
        text = await (await session.get(f"{url}/metrics")).text()
    assert parse_metric(text, "http_requests_total", {"route": "/play/:title", "code": "200"}) == 1
    assert parse_metric(text, "http_requests_total", {"code": "404"}) == 1


async def test_a_cancelled_handler_is_counted_and_stays_cancelled(
        servers: Servers, make_config: MakeConfig) -> None:
    # aiohttp cancels handlers still running at shutdown; the accounting must let
    # the CancelledError through (not crash on a status it never got).
    app = make_app(make_config("playback"))

    async def cancelled(request: web.Request) -> web.Response:
        raise asyncio.CancelledError

    app.router.add_get("/slow", cancelled)
    url = await servers.url(app)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            await session.get(f"{url}/slow")
    assert app[METRICS].value("http_requests_total", code="499") >= 1  # the client retries once
