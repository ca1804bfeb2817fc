"""CPU of one health-check GET: the platforms' aiohttp session against chaoskit's httpx client.

Run: ``python -m benchmarks.health_get [--gets N]``. Both clients ask the same loopback
server (a bare asyncio one, in this process) N times over one kept-alive connection; the
figure is the process's CPU time per GET, client and server together (the server's share
is the same for both), and the ratio is aiohttp's against httpx's in the same run.

Why it matters: the platforms check every instance twice a second and a starting one
twenty times, so a two-region compared run (54 instances) sends over a hundred checks a
second; on a loaded machine that CPU is taken from the loop that reads the load samples.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from chaoskit.httpclient import http_client
from chaoskit.platform.health import check_health, http_session

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _cpu_per_get(get: Callable[[], Awaitable[bool]], gets: int) -> float:
    """Milliseconds of process CPU per GET, after one warm-up GET."""
    assert await get()
    start = time.process_time()
    for _ in range(gets):
        assert await get()
    return (time.process_time() - start) / gets * 1000


async def measure(gets: int) -> tuple[float, float]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        async with http_client(timeout=1.0, trust_env=False) as client:
            async def httpx_get() -> bool:
                return (await client.get(url)).is_success

            httpx_ms = await _cpu_per_get(httpx_get, gets)
        async with http_session() as session:
            aiohttp_ms = await _cpu_per_get(lambda: check_health(session, url), gets)
    finally:
        server.close()
        await server.wait_closed()
    return httpx_ms, aiohttp_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=2000)
    args = parser.parse_args()
    httpx_ms, aiohttp_ms = asyncio.run(measure(args.gets))
    print(f"{args.gets} GETs each on 127.0.0.1, process CPU per GET:")
    print(f"  httpx (chaoskit.httpclient)     {httpx_ms:.3f} ms")
    print(f"  aiohttp (platform health check) {aiohttp_ms:.3f} ms  "
          f"ratio {aiohttp_ms / httpx_ms:.2f}")


if __name__ == "__main__":
    main()
