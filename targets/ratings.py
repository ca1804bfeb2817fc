"""Ratings: the dependency of recommendations. ``GET /ratings/{user}`` → the user's ratings.

Deterministic per user (seeded by the user id), so a stale answer and a fresh
one can be compared. ``RATINGS_DELAY_MS`` adds a fixed delay per request;
chaoskit's latency and kill faults are the usual way to make it misbehave.
"""

from __future__ import annotations

import asyncio
import random
import zlib

from aiohttp import web

from targets.common.app import CONFIG, make_app, serve
from targets.common.config import Config, command_line

CATALOGUE = ("stranger-things", "the-crown", "dark", "narcos", "ozark", "mindhunter",
             "black-mirror", "bojack", "the-witcher", "money-heist", "squid-game", "wednesday")


def ratings_for(user: str) -> list[dict[str, object]]:
    rng = random.Random(zlib.crc32(user.encode()))
    return [{"title": t, "score": rng.randint(1, 5)} for t in rng.sample(CATALOGUE, 6)]


async def ratings(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    delay = config.number("RATINGS_DELAY_MS", 0) / 1000
    if delay:
        await asyncio.sleep(delay)
    user = request.match_info["user"]
    return web.json_response({"user": user, "ratings": ratings_for(user),
                              "instance": config.instance})


def build_app(config: Config) -> web.Application:
    app = make_app(config)
    app.router.add_get("/ratings/{user}", ratings)
    return app


def main() -> None:
    config, _ = command_line("ratings")
    serve(build_app(config), config)


if __name__ == "__main__":
    main()
