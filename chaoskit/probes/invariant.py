"""Invariant probe: a service audits itself and answers how many violations it found."""

from __future__ import annotations

import httpx

from chaoskit.context import RunContext
from chaoskit.httpclient import http_client
from chaoskit.model.probes import InvariantProbe
from chaoskit.probes.base import Reading
from chaoskit.probes.urls import resolve_url


class InvariantAudit:
    def __init__(self, spec: InvariantProbe) -> None:
        self.spec = spec

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        url = resolve_url(ctx, self.spec.url)
        try:
            async with http_client(timeout=self.spec.timeout) as client:
                response = await client.get(url)
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            return Reading(None, f"audit {url} failed: {error}")
        value = body.get(self.spec.field) if isinstance(body, dict) else None
        if not isinstance(value, int | float):
            return Reading(None, f"audit answer has no numeric {self.spec.field!r}")
        summary = ", ".join(f"{k}={v}" for k, v in body.items() if isinstance(v, int | float))
        return Reading(float(value), summary)
