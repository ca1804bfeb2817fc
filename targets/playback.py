"""Playback: the critical path. ``GET /play/{title}`` answers a small "stream start".

Netflix measures its health in stream starts per second (SPS), so this is the
call every experiment watches. It has no dependency and no defence of its own:
its resilience comes from the gateway retrying it on another instance.

``--work-ms N`` (or ``PLAYBACK_WORK_MS``) burns N ms of CPU per request, to
give overload experiments a real capacity limit (on 2 cores, a few hundred
requests per second).
"""

from __future__ import annotations

import time

from aiohttp import web

from targets.common.app import CONFIG, make_app, serve
from targets.common.config import Config, command_line, service_parser

WORK_MS: web.AppKey[float] = web.AppKey("work_ms", float)


def burn(ms: float) -> None:
    """Busy-wait ``ms`` of CPU: simulated encoding/DRM work that blocks the loop, as CPU does."""
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


async def play(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    burn(request.app[WORK_MS])
    title = request.match_info["title"]
    return web.json_response({
        "title": title, "stream_url": f"https://cdn.invalid/{title}/manifest.mpd",
        "instance": config.instance, "zone": config.zone, "region": config.region,
        "started_at": time.time(),
    })


def build_app(config: Config, work_ms: float = 0.0) -> web.Application:
    app = make_app(config)
    app[WORK_MS] = work_ms
    app.router.add_get("/play/{title}", play)
    return app


def main() -> None:
    parser = service_parser("playback")
    parser.add_argument("--work-ms", type=float, default=None,
                        help="CPU milliseconds burnt per request (PLAYBACK_WORK_MS)")
    config, args = command_line("playback", parser=parser)
    work_ms = config.number("PLAYBACK_WORK_MS", 0) if args.work_ms is None else args.work_ms
    serve(build_app(config, work_ms), config)


if __name__ == "__main__":
    main()
