"""Metric probe: a Prometheus-format metric scraped from the selected instances, summed."""

from __future__ import annotations

import asyncio
import re

import httpx

from chaoskit.context import RunContext
from chaoskit.model.probes import MetricProbe
from chaoskit.platform.base import InstanceState
from chaoskit.probes.base import Reading

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metric(text: str, name: str, labels: dict[str, str]) -> float | None:
    """Sum of the samples of ``name`` whose labels include ``labels``; None if absent."""
    total: float | None = None
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match.group(1) != name:
            continue
        have = dict(_LABEL.findall(match.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total = (total or 0.0) + float(match.group(3))
    return total


class MetricSum:
    def __init__(self, spec: MetricProbe) -> None:
        self.spec = spec

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        targets = [s for s in ctx.platform.status()
                   if self.spec.selector.matches(s.instance) and s.state == InstanceState.UP]
        async with httpx.AsyncClient(timeout=2.0) as client:
            texts = await asyncio.gather(
                *(client.get(f"http://{s.address}/metrics") for s in targets),
                return_exceptions=True,
            )
        values = [parse_metric(t.text, self.spec.metric, self.spec.labels)
                  for t in texts if isinstance(t, httpx.Response)]
        found = [v for v in values if v is not None]
        if not found:
            return Reading(None, f"{self.spec.metric} not found on {len(targets)} instances")
        return Reading(sum(found), f"summed over {len(found)} instances")
