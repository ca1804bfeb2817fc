"""HTTP probe: one GET on 127.0.0.1; 1.0 when status, body and latency match, else 0.0."""

from __future__ import annotations

import time

import httpx

from chaoskit.context import RunContext
from chaoskit.httpclient import http_client
from chaoskit.model.probes import HttpProbe
from chaoskit.probes.base import Reading
from chaoskit.probes.urls import resolve_url


class HttpCheck:
    def __init__(self, spec: HttpProbe) -> None:
        self.spec = spec

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        url = resolve_url(ctx, self.spec.url)
        started = time.monotonic()
        try:
            async with http_client(timeout=self.spec.timeout) as client:
                response = await client.get(url)
        except httpx.HTTPError as error:
            return Reading(0.0, f"GET {url}: {type(error).__name__}")
        elapsed = time.monotonic() - started
        problems = []
        if response.status_code != self.spec.status:
            problems.append(f"status {response.status_code} != {self.spec.status}")
        if self.spec.body_contains and self.spec.body_contains not in response.text:
            problems.append(f"body lacks {self.spec.body_contains!r}")
        if self.spec.max_latency is not None and elapsed > self.spec.max_latency:
            problems.append(f"took {elapsed * 1000:.0f} ms")
        detail = "; ".join(problems) or f"{response.status_code} in {elapsed * 1000:.0f} ms"
        return Reading(0.0 if problems else 1.0, detail)
