"""Chaos Kong as Netflix ran it: the edge evacuates a region step by step, then fails back.

chaoskit does not move traffic itself: it asks the topology's global entry
point (the bundled ``edge``, ``POST /admin/evacuate`` / ``/admin/failback``)
and then *measures* the shift from the edge's own counters instead of
trusting the command: the evacuation is complete when the edge's plan has
reached 100 % for the region and the region has received no request for
:data:`QUIET` seconds while the other regions kept receiving them. The time
from the command to that moment is the time-to-evacuate, written into the
injection's detail. Failback is complete when the plan is back at 0 % and
the region receives requests again.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from chaoskit.context import RunContext
from chaoskit.errors import FaultError
from chaoskit.faults.base import Injection
from chaoskit.httpclient import http_client

EDGE = "edge"
"""The service that owns traffic steering: the topology's global entry point."""
STEP_SECONDS = 3.0
"""Between the edge's steps (25 % → 50 % → 75 % → 100 %): gradual, so the
receiving region warms up with the traffic, yet short enough for a test run."""
STEPS = 4
QUIET = 1.0
"""Seconds without a request to the region, while others get some, that mean "shifted"."""
POLL = 0.25
TIMEOUT = 45.0
"""Give up waiting for a shift after this long: the steering did not work."""

_SAMPLE = re.compile(r'^(\w+)\{([^}]*)\}\s+(\S+)', re.MULTILINE)
_REGION = re.compile(r'(?:^|,)region="([^"]*)"')


def region_samples(text: str, metric: str) -> dict[str, float]:
    """``{region: value}`` of one metric in Prometheus text, summed per ``region`` label."""
    values: dict[str, float] = {}
    for name, labels, value in _SAMPLE.findall(text):
        region = _REGION.search(labels)
        if name == metric and region:
            values[region.group(1)] = values.get(region.group(1), 0.0) + float(value)
    return values


@dataclass(frozen=True)
class EdgeReading:
    """What the edge's /metrics says at one moment."""

    t: float
    routed: Mapping[str, float]
    """``edge_routed_total`` per region: requests the edge has sent there."""
    evacuated: Mapping[str, float]
    """``edge_evacuated_fraction`` per region: how far the edge's plan has got."""

    @classmethod
    def parse(cls, t: float, text: str) -> EdgeReading:
        return cls(t, region_samples(text, "edge_routed_total"),
                   region_samples(text, "edge_evacuated_fraction"))


@dataclass
class ShiftTracker:
    """Decides from successive edge readings whether a region's traffic has shifted.

    ``target`` is the planned fraction (1.0 evacuate, 0.0 failback).
    """

    region: str
    target: float
    quiet: float = QUIET
    readings: list[EdgeReading] = field(default_factory=list)

    def add(self, reading: EdgeReading) -> None:
        self.readings.append(reading)
        # Keep what a quiet window needs, and a little more.
        while len(self.readings) > 2 and reading.t - self.readings[1].t >= self.quiet:
            self.readings.pop(0)

    def share(self) -> float | None:
        """The region's share of the requests routed over the kept readings; None if none."""
        if len(self.readings) < 2:
            return None
        first, last = self.readings[0], self.readings[-1]
        delta = {r: last.routed.get(r, 0.0) - first.routed.get(r, 0.0) for r in last.routed}
        total = sum(delta.values())
        return delta.get(self.region, 0.0) / total if total > 0 else None

    def complete(self) -> bool:
        if len(self.readings) < 2:
            return False
        first, last = self.readings[0], self.readings[-1]
        if last.t - first.t < self.quiet:
            return False
        if abs(last.evacuated.get(self.region, -1.0) - self.target) > 1e-9:
            return False
        share = self.share()
        if share is None:
            return False  # no traffic at all: nothing shows the shift
        return share == 0.0 if self.target >= 1.0 else share > 0.0


@dataclass(frozen=True)
class Evacuation:
    """The injection's handle: which region, on which edge, and what was measured."""

    region: str
    edge_url: str
    seconds: float


async def _command(client: httpx.AsyncClient, url: str, body: dict[str, object]) -> None:
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError as error:
        raise FaultError(f"the edge did not take the command {url}: {error}") from error
    if response.status_code != 202:
        raise FaultError(f"the edge refused {url} {body}: {response.status_code} "
                         f"{response.text[:200]}")


async def _wait_for(client: httpx.AsyncClient, edge_url: str, tracker: ShiftTracker,
                    what: str) -> float:
    """Seconds until ``tracker`` sees the shift complete; FaultError after TIMEOUT."""
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT:
        try:
            response = await client.get(f"{edge_url}/metrics")
            tracker.add(EdgeReading.parse(time.monotonic(), response.text))
        except httpx.HTTPError:
            pass  # a restarting edge answers again shortly; the timeout bounds the wait
        if tracker.complete():
            return time.monotonic() - started
        await asyncio.sleep(POLL)
    share = tracker.share()
    seen = "no traffic measured" if share is None else f"its share is still {share:.3f}"
    raise FaultError(f"{what} of {tracker.region} not complete after {TIMEOUT:g}s: {seen}")


def _edge_url(ctx: RunContext) -> str:
    try:
        return f"http://{ctx.address_of(EDGE)}"
    except KeyError:
        raise FaultError("region_outage mode evacuate needs an 'edge' service in the "
                         "topology (the global entry point that steers traffic)") from None


async def evacuate(ctx: RunContext, region: str) -> Injection:
    """Shift every user of ``region`` elsewhere; return once no request reaches it."""
    edge_url = _edge_url(ctx)
    tracker = ShiftTracker(region, target=1.0)
    async with http_client(timeout=5.0) as client:
        await _command(client, f"{edge_url}/admin/evacuate",
                       {"region": region, "step_seconds": STEP_SECONDS})
        try:
            seconds = await _wait_for(client, edge_url, tracker, "evacuation")
        except FaultError:
            # Not injected, so the runner will not revert it: put the users back now.
            await _command(client, f"{edge_url}/admin/failback",
                           {"region": region, "step_seconds": 0})
            raise
    targets = tuple(i.id for i in ctx.instances if i.service == EDGE)
    detail = (f"edge evacuated {region} in {seconds:.1f}s ({STEPS} steps of "
              f"{STEP_SECONDS:g}s); its share of requests over the last {QUIET:g}s: 0")
    return Injection(targets=targets, detail=detail,
                     handle=Evacuation(region, edge_url, seconds))


async def failback(ctx: RunContext, injection: Injection) -> None:
    """Bring the region's users back the same gradual way; return once it serves again."""
    handle = injection.handle
    if not isinstance(handle, Evacuation):
        raise FaultError("failback needs the handle of an evacuation")
    tracker = ShiftTracker(handle.region, target=0.0)
    async with http_client(timeout=5.0) as client:
        await _command(client, f"{handle.edge_url}/admin/failback",
                       {"region": handle.region, "step_seconds": STEP_SECONDS})
        await _wait_for(client, handle.edge_url, tracker, "failback")
