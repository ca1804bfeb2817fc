"""Health checks shared by the platforms: http (2xx), tcp (accepts), command (exits 0), none.

A check answers one question, "is it healthy now?": the platforms call it until
an instance is up, and then keep calling it for the whole run (see
:class:`HealthWatch`), so ``instances`` says what is healthy *now*, not what once was.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
from collections.abc import Callable, Mapping

import aiohttp

from chaoskit.model.topology import CommandHealth, HttpHealth, TcpHealth
from chaoskit.platform.base import Launch

POLL_INTERVAL = 0.05
"""Seconds between two checks while starting: short, so a restart is noticed within a
tick of the load."""

WATCH_INTERVAL = 0.5
"""Seconds between two checks of an instance that is up."""

UNHEALTHY_AFTER = 2
"""Consecutive failed checks before an up instance counts as unhealthy (one is noise)."""

REQUEST_TIMEOUT = 1.0
"""A paused instance accepts the connection (the kernel does) but never answers: give up
on one request after this long and try again, rather than hanging on it."""


def http_session() -> aiohttp.ClientSession:
    """The session an HTTP health check uses (one per instance)."""
    # aiohttp, not httpx as elsewhere: this is chaoskit's hottest HTTP path (every instance
    # twice a second, a starting one twenty times), and an aiohttp GET costs a sixth of the
    # CPU (0.15-0.18 against 0.9-1.0 ms here: `python -m benchmarks.health_get`).
    # trust_env=False: an HTTP(S)_PROXY in the user's environment must not carry checks
    # meant for 127.0.0.1.
    return aiohttp.ClientSession(trust_env=False,
                                 timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))


async def check_health(session: aiohttp.ClientSession, url: str, *,
                       timeout: float = REQUEST_TIMEOUT) -> bool:
    """One GET of ``url``: True on a 2xx answer, False on any other answer (a redirect
    included) or failure."""
    try:
        async with session.get(url, allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            await response.read()  # the whole answer, so the connection is reused
            return 200 <= response.status < 300
    except (aiohttp.ClientError, TimeoutError):
        return False


async def check_tcp(host: str, port: int, *, timeout: float = REQUEST_TIMEOUT) -> bool:
    """True when ``host:port`` accepts a connection; it is closed at once, nothing sent."""
    # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that arrives as
    # the connect completes, and a health task that outlives its cancel hangs close().
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def check_command(argv: tuple[str, ...], *, cwd: str, env: Mapping[str, str],
                        timeout: float) -> bool:
    """True when ``argv`` exits 0 within ``timeout``; on timeout it is killed and reaped."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=dict(env), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True)
    except OSError:
        return False
    try:
        async with asyncio.timeout(timeout):  # not wait_for: see check_tcp
            return await process.wait() == 0
    except TimeoutError:
        return False
    finally:
        if process.returncode is None:  # timed out, or the check was cancelled
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.shield(process.wait())


class HealthCheck:
    """Checks one instance as its launch says; ``env`` is the environment a command gets."""

    def __init__(self, launch: Launch, env: Mapping[str, str]) -> None:
        self.launch = launch
        self.env = env
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HealthCheck:
        if isinstance(self.launch.health, HttpHealth):
            self._session = http_session()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def once(self, timeout: float = REQUEST_TIMEOUT) -> bool:
        launch, health = self.launch, self.launch.health
        port = launch.health_port or launch.port
        if health is None:
            return True
        if isinstance(health, HttpHealth):
            assert self._session is not None, "use HealthCheck as an async context manager"
            return await check_health(self._session, f"http://{launch.host}:{port}{health.http}",
                                      timeout=timeout)
        if isinstance(health, TcpHealth):
            return await check_tcp(launch.host, port, timeout=timeout)
        assert isinstance(health, CommandHealth)
        return await check_command(launch.health_command, cwd=launch.cwd, env=self.env,
                                   timeout=health.timeout)

    async def until_healthy(self, timeout: float = math.inf, *,
                            interval: float = POLL_INTERVAL) -> bool:
        """Check until healthy (True) or ``timeout`` seconds pass (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if await self.once(min(REQUEST_TIMEOUT, max(remaining, 0.01))):
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(interval, remaining))


async def keep_watching(check: HealthCheck, report: Callable[[bool], None], *,
                        skip: Callable[[], bool] = lambda: False,
                        interval: float = WATCH_INTERVAL) -> None:
    """After an instance is up: check it every ``interval`` for as long as the task runs,
    and ``report(False)`` after UNHEALTHY_AFTER failures in a row, ``report(True)`` on the
    next success. ``skip`` (a paused instance) suspends checking."""
    failures = 0
    while True:
        await asyncio.sleep(interval)
        if skip():
            failures = 0
            continue
        if await check.once():
            if failures >= UNHEALTHY_AFTER:
                report(True)
            failures = 0
        else:
            failures += 1
            if failures == UNHEALTHY_AFTER:
                report(False)
