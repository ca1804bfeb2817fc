"""Metric probe: a Prometheus-format metric scraped from the selected instances.

Each instance's matching samples are summed; instances combine by the spec's
``aggregate`` (sum, min, max or count of instances that have the metric).
"""

from __future__ import annotations

import asyncio
import re

import httpx

from chaoskit.context import RunContext
from chaoskit.errors import ProbeError
from chaoskit.httpclient import http_client
from chaoskit.model.probes import MetricProbe
from chaoskit.platform.base import InstanceState, InstanceStatus
from chaoskit.probes.base import Reading

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def label_matches(have: str | None, want: str) -> bool:
    """``want`` is a value (equal), ``~REGEX`` (full match) or ``!VALUE`` (differs)."""
    if want.startswith("~"):
        return re.fullmatch(want[1:], have or "") is not None
    if want.startswith("!"):
        return (have or "") != want[1:]
    return have == want


def parse_metric(text: str, name: str, labels: dict[str, str]) -> float | None:
    """Sum of the samples of ``name`` whose labels match ``labels``; None if absent."""
    total: float | None = None
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match.group(1) != name:
            continue
        have = dict(_LABEL.findall(match.group(2) or ""))
        if all(label_matches(have.get(k), v) for k, v in labels.items()):
            try:
                value = float(match.group(3))
            except ValueError:
                continue
            total = (total or 0.0) + value
    return total


def combine(values: list[float], how: str) -> float:
    """``sum``, ``min`` or ``max`` of a non-empty list."""
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    return float(sum(values))


class MetricSum:
    def __init__(self, spec: MetricProbe) -> None:
        self.spec = spec

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        spec = self.spec
        targets = [s for s in ctx.platform.status()
                   if spec.selector.matches(s.instance) and s.state == InstanceState.UP]
        try:
            urls = [f"http://{self._address(ctx, s)}{spec.path}" for s in targets]
        except ProbeError as error:
            return Reading(None, str(error))
        async with http_client(timeout=spec.timeout) as client:
            texts = await asyncio.gather(*(client.get(url) for url in urls),
                                         return_exceptions=True)
        values = [parse_metric(t.text, spec.metric, spec.labels)
                  for t in texts if isinstance(t, httpx.Response)]
        found = [v for v in values if v is not None]
        if spec.aggregate == "count":
            return Reading(float(len(found)),
                           f"{len(found)} of {len(targets)} instances have {spec.metric}")
        if not found:
            return Reading(None, f"{spec.metric} not found on {len(targets)} instances")
        verb = {"sum": "summed", "min": "least", "max": "greatest"}[spec.aggregate]
        return Reading(combine(found, spec.aggregate), f"{verb} over {len(found)} instances")

    def _address(self, ctx: RunContext, status: InstanceStatus) -> str:
        if self.spec.port is None:
            return status.address
        try:
            launch = ctx.launch(status.instance.id)
        except KeyError:
            raise ProbeError(f"metric probe: {status.instance.id} was not launched") from None
        if self.spec.port not in launch.ports:
            raise ProbeError(f"metric probe: {status.instance.id} has no port "
                             f"{self.spec.port!r}; it has {', '.join(launch.ports)}")
        return f"{launch.host}:{launch.ports[self.spec.port]}"
