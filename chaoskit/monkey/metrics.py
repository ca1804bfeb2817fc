"""``/metrics`` in Prometheus text format, on 127.0.0.1: kills, skips by reason, next kill."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from chaoskit.monkey.killlog import REASONS

NextKill = Callable[[], float | None]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(kills: dict[str, int], skips: dict[str, int], next_kill: float | None,
           leashed: bool) -> str:
    """The exposition text (format 0.0.4)."""
    lines = ["# HELP chaoskit_monkey_kills_total Instances killed, per group (from the kill log).",
             "# TYPE chaoskit_monkey_kills_total counter"]
    lines += [f'chaoskit_monkey_kills_total{{group="{_label(g)}"}} {n}'
              for g, n in sorted(kills.items())]
    lines += ["# HELP chaoskit_monkey_skips_total Planned kills not made, per reason.",
              "# TYPE chaoskit_monkey_skips_total counter"]
    lines += [f'chaoskit_monkey_skips_total{{reason="{r}"}} {skips.get(r, 0)}'
              for r in REASONS]
    lines += ["# HELP chaoskit_monkey_next_kill_timestamp_seconds When the next planned kill is "
              "due (Unix time on the monkey's clock).",
              "# TYPE chaoskit_monkey_next_kill_timestamp_seconds gauge"]
    if next_kill is not None:
        lines.append(f"chaoskit_monkey_next_kill_timestamp_seconds {next_kill:.3f}")
    lines += ["# HELP chaoskit_monkey_leashed 1 when the monkey decides and logs, kills nothing.",
              "# TYPE chaoskit_monkey_leashed gauge", f"chaoskit_monkey_leashed {int(leashed)}"]
    return "\n".join(lines) + "\n"


class MetricsServer:
    """A minimal HTTP server answering ``GET /metrics``; everything else is a 404."""

    def __init__(self, body: Callable[[], str]) -> None:
        self._body = body
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                request = await reader.readline()
                while (await reader.readline()).strip():
                    pass  # headers
            parts = request.decode(errors="replace").split()
            if len(parts) >= 2 and parts[0] == "GET" and parts[1].split("?")[0] == "/metrics":
                status, body = "200 OK", await asyncio.to_thread(self._body)
                kind = "text/plain; version=0.0.4; charset=utf-8"
            else:
                status, body, kind = "404 Not Found", "not found: try /metrics\n", "text/plain"
            data = body.encode()
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: "
                         f"{len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
