"""An http health check against an in-process asyncio server: 2xx counts, anything else is
retried."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from chaoskit.model.topology import HttpHealth, Instance, RestartPolicy
from chaoskit.platform.base import Launch
from chaoskit.platform.health import HealthCheck

Responder = Callable[[int], bytes | None]
"""Request number → raw response, or None to accept and never answer (a paused instance)."""


@contextlib.asynccontextmanager
async def serve(respond: Responder) -> AsyncIterator[str]:
    count = 0
    silent: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        await reader.readuntil(b"\r\n\r\n")
        count += 1
        answer = respond(count)
        if answer is None:
            silent.append(writer)
            return
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/health"
    finally:
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()


async def wait_healthy(url: str, timeout: float) -> bool:
    """``until_healthy`` of an http check on ``url`` (``http://127.0.0.1:PORT/PATH``)."""
    address, _, path = url.removeprefix("http://").partition("/")
    port = int(address.rpartition(":")[2])
    launch = Launch(instance=Instance(id="x-z-0", service="x", zone="z", region="r", index=0),
                    argv=("x",), env={}, cwd=".", ports={"http": port}, restart=RestartPolicy(),
                    health=HttpHealth(http=f"/{path}"))
    async with HealthCheck(launch, {}) as check:
        return await check.until_healthy(timeout)


def http(status: int) -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_healthy_after_some_failures() -> None:
    async with serve(lambda n: http(503 if n < 3 else 204)) as url:
        assert await wait_healthy(url, 5)


async def test_gives_up_at_the_deadline_when_nothing_listens() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert not await wait_healthy(f"http://127.0.0.1:{closed_port()}/health", 0.3)
    assert loop.time() - began < 2


@pytest.mark.parametrize("respond", [lambda n: http(500), lambda n: None],
                         ids=["server-error", "never-answers"])
async def test_a_non_2xx_or_silent_server_is_not_healthy(respond: Responder) -> None:
    loop = asyncio.get_running_loop()
    async with serve(respond) as url:
        began = loop.time()
        assert not await wait_healthy(url, 0.4)
        # A silent server must not hold the check past its deadline.
        assert loop.time() - began < 2
