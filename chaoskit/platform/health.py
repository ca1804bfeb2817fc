"""Health checks shared by the platforms: an instance is healthy when its health URL answers 2xx."""

from __future__ import annotations

import asyncio
import math

import httpx

POLL_INTERVAL = 0.05
"""Seconds between two checks: short, so a restart is noticed within a tick of the load."""

REQUEST_TIMEOUT = 1.0
"""A paused instance accepts the connection (the kernel does) but never answers: give up
on one request after this long and try again, rather than hanging on it."""


def _client() -> httpx.AsyncClient:
    # trust_env=False: an HTTP(S)_PROXY in the user's environment must not carry
    # checks meant for 127.0.0.1.
    return httpx.AsyncClient(trust_env=False, timeout=REQUEST_TIMEOUT)


async def check_health(client: httpx.AsyncClient, url: str, *, timeout: float = REQUEST_TIMEOUT
                       ) -> bool:
    """One GET of ``url``: True on a 2xx answer, False on any other answer or failure."""
    try:
        response = await client.get(url, timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.is_success


async def wait_healthy(url: str, timeout: float = math.inf, *,
                       interval: float = POLL_INTERVAL) -> bool:
    """Poll ``url`` until it answers 2xx (True) or ``timeout`` seconds pass (False).

    ``math.inf`` waits for as long as the caller lets it (cancel the task to stop).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with _client() as client:
        while True:
            remaining = deadline - loop.time()
            if await check_health(client, url, timeout=min(REQUEST_TIMEOUT, max(remaining, 0.01))):
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(interval, remaining))
