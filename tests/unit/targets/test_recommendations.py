"""Recommendations over a real ratings server: stale answers when ratings dies, 503 without."""

from __future__ import annotations

import aiohttp
from targets_support import MakeConfig, Servers

from targets import ratings, recommendations
from targets.common.app import METRICS


async def scenario(servers: Servers, make_config: MakeConfig,
                   **kw: object) -> tuple[list[tuple[int, str | None, str | None]], float]:
    ratings_server = await servers.start(ratings.build_app(make_config("ratings")))
    app = recommendations.build_app(make_config(
        "recommendations", upstreams={"ratings": [str(ratings_server.make_url("")).rstrip("/")]},
        **kw))
    url = await servers.url(app)
    answers = []
    async with aiohttp.ClientSession() as session:
        for step in range(3):
            if step == 1:
                await ratings_server.close()  # ratings dies after the first answer
            async with session.get(f"{url}/recommendations/ana") as response:
                answers.append((response.status, response.headers.get("X-Cache"),
                                response.headers.get("Age")))
    return answers, app[METRICS].value("stale_served_total")


async def test_serves_stale_rows_when_ratings_fails(servers: Servers,
                                                    make_config: MakeConfig) -> None:
    answers, stale = await scenario(servers, make_config)
    assert answers[0][:2] == (200, "MISS")
    assert [a[:2] for a in answers[1:]] == [(200, "STALE"), (200, "STALE")]
    assert all(a[2] is not None and int(a[2]) >= 0 for a in answers)
    assert stale == 2


async def test_too_stale_rows_are_an_error(servers: Servers, make_config: MakeConfig) -> None:
    answers, _ = await scenario(servers, make_config, env={"STALE_MAX_SECONDS": "0"})
    assert [a[0] for a in answers] == [200, 503, 503]


async def test_without_the_fallback_a_failing_ratings_is_a_5xx(
        servers: Servers, make_config: MakeConfig) -> None:
    answers, stale = await scenario(servers, make_config, disabled=("stale_fallback",))
    assert [a[0] for a in answers] == [200, 503, 503] and stale == 0
