"""Prometheus probe: a PromQL query through the HTTP API, instant or over the window.

Several series are combined at each instant (``series``: sum by default), then a
range query's points are reduced over time (``over_time``), so ``min`` over a
window of a summed rate is the lowest total, not the sum of per-series lows.
Every failure (no server, a query Prometheus rejects, no series) is a reading
of None with a detail naming the probe and the query: never a traceback.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import httpx

from chaoskit.context import RunContext
from chaoskit.errors import ObserverError, ProbeError
from chaoskit.httpclient import http_client
from chaoskit.model.probes import PrometheusProbe
from chaoskit.probes.base import Reading
from chaoskit.probes.urls import resolve_url


class PrometheusQuery:
    def __init__(self, spec: PrometheusProbe) -> None:
        self.spec = spec

    def base_url(self, ctx: RunContext) -> str:
        url = self.spec.url or ctx.prometheus_url
        if not url:
            raise ProbeError(
                f"prometheus probe {self.spec.query!r}: no url, and the run has no "
                "Prometheus of its own (set url:, or observability: {prometheus: true})")
        return resolve_url(ctx, url).rstrip("/")

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        spec = self.spec
        what = f"prometheus {spec.query!r}"
        try:
            base = self.base_url(ctx)
        except ProbeError as error:
            return Reading(None, str(error))
        now = time.time()
        params: dict[str, str]
        if spec.range:
            seconds = window if window is not None else spec.window
            start = now - seconds
            if since is not None:
                start = max(start, since)
            params = {"query": spec.query, "start": f"{start:.3f}", "end": f"{now:.3f}",
                      "step": f"{spec.step:g}"}
            endpoint = f"{base}/api/v1/query_range"
        else:
            params = {"query": spec.query, "time": f"{now:.3f}"}
            endpoint = f"{base}/api/v1/query"
        try:
            async with http_client(timeout=spec.timeout) as client:
                response = await client.get(endpoint, params=params)
        except httpx.HTTPError as error:
            raise ObserverError(f"{what}: {base} unreachable ({type(error).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            raise ObserverError(f"{what}: {base} answered {response.status_code}, not JSON "
                                "(is it a Prometheus server?)") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error_type = body.get("errorType", "error") if isinstance(body, dict) else "error"
            message = body.get("error", "") if isinstance(body, dict) else ""
            raise ObserverError(f"{what}: Prometheus rejected it ({response.status_code} "
                                f"{error_type}: {message})")
        try:
            value, detail = reduce_result(body.get("data", {}), series=spec.series,
                                          over_time=spec.over_time)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            return Reading(None, f"{what}: unexpected answer ({error!r})")
        return Reading(value, f"{what}: {detail}",
                       window_start=float(params["start"]) if spec.range else None)


def reduce_result(data: dict[str, Any], *, series: str, over_time: str
                  ) -> tuple[float | None, str]:
    """One value from a query's ``data`` (scalar, vector or matrix), and how it was made."""
    kind = data["resultType"]
    result = data["result"]
    if kind == "scalar":
        return _finite(float(result[1])), "scalar"
    if kind == "string":
        raise ValueError("a string result is not a number")
    if kind == "vector":
        points = {0.0: [float(s["value"][1]) for s in result]}
    elif kind == "matrix":
        points = {}
        for one in result:
            for stamp, text in one["values"]:
                points.setdefault(float(stamp), []).append(float(text))
    else:
        raise ValueError(f"unknown resultType {kind!r}")
    if not result:
        return None, "no series"
    combined = []
    for stamp in sorted(points):
        value = _combine(points[stamp], series)
        if value is None:
            return None, f"{len(points[stamp])} series where one was expected"
        combined.append(value)
    finite = [v for v in combined if not math.isnan(v)]
    if not finite:
        return None, "NaN"
    value = _over_time(finite, over_time)
    where = f"{len(result)} series" + (f", {len(finite)} points" if kind == "matrix" else "")
    return value, f"{value:g} ({series} of {where}" + (
        f", {over_time} over time)" if kind == "matrix" else ")")


def _combine(values: list[float], how: str) -> float | None:
    if how == "count":
        return float(len(values))
    if how == "single":
        return values[0] if len(values) == 1 else None
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    return math.fsum(values)


def _over_time(values: list[float], how: str) -> float:
    if how == "last":
        return values[-1]
    if how == "mean":
        return statistics.fmean(values)
    return min(values) if how == "min" else max(values)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value
