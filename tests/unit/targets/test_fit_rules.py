"""FIT in-process: cohort-only request faults in the gateway's and recommendations' clients."""

from __future__ import annotations

import time
from unittest import mock

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from targets_support import MakeConfig, Servers

from targets import edge, gateway, playback, ratings, recommendations
from targets.common.app import FIT, METRICS
from targets.common.fit import FitRules, Rule, _loopback_only

HEADER = "X-Chaoskit-Cohort"
FAIL_PLAYBACK = {"dependency": "playback", "cohort": "experiment", "error": True, "ttl_s": 60}


async def start(servers: Servers, make_config: MakeConfig) -> tuple[str, web.Application]:
    playbacks = [await servers.url(playback.build_app(make_config("playback", instance=f"pb-{i}")))
                 for i in range(2)]
    app = gateway.build_app(make_config("gateway", upstreams={"playback": playbacks}))
    return await servers.url(app), app


async def plays(session: aiohttp.ClientSession, url: str, n: int,
                cohort: str | None) -> list[tuple[int, float]]:
    """(status, seconds) of ``n`` plays of one cohort (None: untagged)."""
    headers = {HEADER: cohort} if cohort else {}
    answers = []
    for i in range(n):
        started = time.perf_counter()
        async with session.get(f"{url}/play/t{i}", headers=headers) as response:
            answers.append((response.status, time.perf_counter() - started))
    return answers


async def test_failures_hit_the_experiment_cohort_only_and_stay_out_of_shared_defences(
        servers: Servers, make_config: MakeConfig) -> None:
    url, app = await start(servers, make_config)
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{url}/admin/fit/r1", json=FAIL_PLAYBACK) as response:
            assert response.status == 200
            assert [r["id"] for r in (await response.json())["rules"]] == ["r1"]
        experiment = await plays(session, url, 12, "experiment")
        control = await plays(session, url, 12, "control")
        untagged = await plays(session, url, 12, None)
        assert {s for s, _ in control} == {s for s, _ in untagged} == {200}
        # Retried, then the experiment cohort's own breaker opened: 502s, then fast 503s.
        assert [s for s, _ in experiment][:2] == [502, 502] and experiment[-1][0] == 503
        metrics = app[METRICS]
        assert metrics.value("circuit_breaker_state", upstream="playback:experiment") == 2.0
        assert metrics.value("circuit_breaker_state", upstream="playback:control") == 0.0
        assert metrics.value("circuit_breaker_state", upstream="playback") == 0.0
        assert metrics.value("pool_ejections_total", upstream="playback") == 0
        assert metrics.value("fit_injected_total", upstream="playback", cohort="experiment",
                             kind="error") >= 2
        async with session.delete(f"{url}/admin/fit/r1") as response:
            assert (await response.json()) == {"removed": 1, "rules": []}


async def test_a_delay_slows_the_experiment_cohort_only(servers: Servers,
                                                        make_config: MakeConfig) -> None:
    url, _ = await start(servers, make_config)

    def median(answers: list[tuple[int, float]]) -> float:
        assert {s for s, _ in answers} == {200}
        return sorted(t for _, t in answers)[len(answers) // 2]

    async with aiohttp.ClientSession() as session:
        rule = {"dependency": "playback", "error": False, "delay_ms": 400, "ttl_s": 60}
        async with session.put(f"{url}/admin/fit/slow", json=rule) as response:
            assert response.status == 200
        experiment = await plays(session, url, 5, "experiment")
        assert min(t for _, t in experiment) >= 0.4 and median(experiment) < 1.0
        # A local call takes milliseconds; the median leaves room for a busy machine.
        assert median(await plays(session, url, 5, "control")) < 0.2
        async with session.delete(f"{url}/admin/fit") as response:
            assert (await response.json())["removed"] == 1
        assert median(await plays(session, url, 5, "experiment")) < 0.2


async def test_the_cohort_reaches_ratings_calls_and_the_stale_fallback_hides_the_fault(
        servers: Servers, make_config: MakeConfig) -> None:
    ratings_url = await servers.url(ratings.build_app(make_config("ratings")))
    app = recommendations.build_app(make_config("recommendations",
                                                upstreams={"ratings": [ratings_url]}))
    url = await servers.url(app)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/recommendations/ana") as response:
            assert response.headers["X-Cache"] == "MISS"
        app[FIT].set(Rule("r", "ratings", "experiment", True, 0, time.monotonic() + 60))
        async with session.get(f"{url}/recommendations/ana",
                               headers={HEADER: "experiment"}) as response:
            assert (response.status, response.headers["X-Cache"]) == (200, "STALE")
        async with session.get(f"{url}/recommendations/ana",
                               headers={HEADER: "control"}) as response:
            assert (response.status, response.headers["X-Cache"]) == (200, "MISS")


@pytest.mark.parametrize(("body", "error"), [
    ({"dependency": "playback", "ttl_s": 5}, "fail calls"),
    ({"dependency": "playback", "error": True}, "ttl_s"),
    ({"dependency": "playback", "error": True, "ttl_s": 5, "cohort": "everyone"}, "cohort"),
    ({"dependency": "playback", "delay_ms": -1, "ttl_s": 5}, "delay_ms"),
    ({"dependency": "", "error": True, "ttl_s": 5}, "dependency"),
    ({"dependency": "playback", "error": True, "ttl_s": 5, "percent": 5}, "unknown"),
])
async def test_a_bad_rule_is_refused_with_its_reason(servers: Servers, make_config: MakeConfig,
                                                     body: dict[str, object], error: str) -> None:
    url, app = await start(servers, make_config)
    async with aiohttp.ClientSession() as session, session.put(
            f"{url}/admin/fit/x", json=body) as response:
        assert response.status == 400 and error in (await response.json())["error"]
    assert app[FIT].rules() == []


def test_rules_expire_by_themselves_and_unknown_cohorts_are_untagged() -> None:
    now = [100.0]
    rules = FitRules(clock=lambda: now[0])
    rules.set(Rule.parse("a", {"dependency": "d", "delay_ms": 100, "ttl_s": 10}, now[0]))
    rules.set(Rule.parse("b", {"dependency": "d", "error": True, "ttl_s": 20}, now[0]))
    effect = rules.effect("d", "experiment")
    assert effect is not None and (effect.delay, effect.error) == (0.1, True)
    assert rules.effect("d", "control") is None and rules.effect("other", "experiment") is None
    now[0] = 110.0
    effect = rules.effect("d", "experiment")
    assert effect is not None and (effect.delay, effect.error) == (0.0, True)
    now[0] = 120.0
    assert rules.effect("d", "experiment") is None and rules.rules() == []
    assert rules.cohort_of({"x-chaoskit-cohort": "experiment"}) == "experiment"
    assert rules.cohort_of({HEADER: "canary"}) is None and rules.cohort_of(None) is None


def test_rules_are_set_from_loopback_only() -> None:
    def from_host(host: str) -> web.Request:
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda name, default=None: (
            (host, 4000) if name == "peername" else default)
        return make_mocked_request("PUT", "/admin/fit/x", transport=transport)

    assert _loopback_only(from_host("127.0.0.1")) is None
    assert _loopback_only(from_host("::1")) is None
    refused = _loopback_only(from_host("10.0.0.7"))
    assert refused is not None and refused.status == 403


async def test_the_edge_passes_the_cohort_on_to_the_gateways_rules(
        servers: Servers, make_config: MakeConfig) -> None:
    gateway_url, gateway_app = await start(servers, make_config)
    gateway_app[FIT].set(Rule("r", "playback", "experiment", True, 0, time.monotonic() + 60))
    front = edge.build_app(make_config("edge", upstreams={"gateway": [gateway_url]}))
    url = await servers.url(front)
    async with aiohttp.ClientSession() as session:
        assert {s for s, _ in await plays(session, url, 3, "control")} == {200}
        # The gateway's 5xx is relayed by the edge, as for any failure behind it.
        assert {s for s, _ in await plays(session, url, 3, "experiment")} <= {502, 503}
