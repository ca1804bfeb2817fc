"""Region failover and gradual evacuation (Chaos Kong), for a global entry point.

Users are pinned to a *home region* by a hash of their id, so their traffic
(and caches, sessions) stay in one place. Two ways to move them:

- **failover** (the defence): a region whose health checks all fail is
  skipped, and an idempotent request that could not reach its region is tried
  in another one. Switched off, users of a dead region see its errors.
- **evacuation** (the operator's command, how Netflix runs Chaos Kong): the
  share of a region's users sent elsewhere rises step by step (25%, 50%, 75%,
  100%) so the receiving region scales with the traffic rather than taking it
  all at once; failback lowers it the same way. Which users move is decided by
  a second hash, so a user moves once and stays moved.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

import aiohttp

Sample = tuple[str, dict[str, str], float]


def _hash(text: str) -> int:
    return zlib.crc32(text.encode())


class RegionRouter:
    """Routes users to regions; ``clock`` times the traffic shares, ``sleep`` the
    evacuation steps and health checks (a test passes a fake clock's)."""

    def __init__(self, regions: Iterable[str], *, failover: bool = True, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.regions = list(regions)
        self.failover = failover
        self.window = window
        self.healthy = dict.fromkeys(self.regions, True)
        self.evacuated = dict.fromkeys(self.regions, 0.0)
        self.routed: collections.Counter[str] = collections.Counter()
        self._recent: dict[int, collections.Counter[str]] = {}
        self._shifts: dict[str, asyncio.Task[None]] = {}
        self._planned: dict[str, float] = {}
        self._clock = clock
        self._sleep = sleep

    def home(self, user: str) -> str:
        return self.regions[_hash(user) % len(self.regions)]

    def choose(self, user: str) -> str:
        """The region this user's request goes to first."""
        home = self.home(user)
        moved = (_hash(user + "#evacuation") % 1000) / 1000 < self.evacuated[home]
        if moved:
            others = [r for r in self.regions if r != home and self.evacuated[r] < 1.0]
            healthy = [r for r in others if self.healthy[r]]
            if healthy or others:
                return (healthy or others)[_hash(user) % len(healthy or others)]
        return home

    def candidates(self, region: str, *, idempotent: bool) -> list[str]:
        """Regions to try in order: only ``region`` without failover."""
        if not self.failover:
            return [region]
        order = [region, *(r for r in self.regions if r != region and self.evacuated[r] < 1.0)]
        ranked = [r for r in order if self.healthy[r]] + [r for r in order if not self.healthy[r]]
        return ranked if idempotent else ranked[:1]

    def count(self, region: str) -> None:
        self.routed[region] += 1
        second = int(self._clock())
        self._recent.setdefault(second, collections.Counter())[region] += 1
        for old in [s for s in self._recent if s <= second - self.window]:
            del self._recent[old]

    def shares(self) -> dict[str, float]:
        """Fraction of the requests of the last ``window`` seconds sent to each region."""
        now = self._clock()
        totals: collections.Counter[str] = collections.Counter()
        for second, counts in self._recent.items():
            if second > now - self.window:
                totals.update(counts)
        total = sum(totals.values())
        return {r: (totals[r] / total if total else 0.0) for r in self.regions}

    def shift(self, region: str, fractions: Sequence[float], step_seconds: float) -> None:
        """Move ``region``'s evacuated fraction through ``fractions``, one per step."""
        if region not in self.evacuated:
            raise ValueError(f"unknown region {region!r}; expected one of {self.regions}")
        if fractions and fractions[-1] > 0 and not any(
                self._planned.get(r, self.evacuated[r]) < 1.0
                for r in self.regions if r != region):
            raise ValueError(f"cannot evacuate {region}: no other region would take its users")
        if not all(0.0 <= f <= 1.0 for f in fractions):
            raise ValueError("fractions must be between 0 and 1")
        previous = self._shifts.pop(region, None)
        if previous is not None:
            previous.cancel()

        if not fractions:
            return
        self._planned[region] = fractions[-1]
        self.evacuated[region] = fractions[0]  # the first step applies at once

        async def run() -> None:
            for fraction in fractions[1:]:
                await self._sleep(step_seconds)
                self.evacuated[region] = fraction

        self._shifts[region] = asyncio.get_running_loop().create_task(run())

    def evacuated_regions(self) -> list[str]:
        return [r for r, f in self.evacuated.items() if f > 0]

    async def watch(self, session: aiohttp.ClientSession, urls: Mapping[str, Sequence[str]],
                    interval: float) -> None:
        """Health-check every region's instances forever: healthy if any answers /health."""
        async def ok(url: str) -> bool:
            try:
                async with asyncio.timeout(min(interval * 2, 1.0)), \
                        session.get(f"{url}/health") as response:
                    return response.status == 200
            except (aiohttp.ClientError, OSError, TimeoutError):
                return False

        while True:
            for region, region_urls in urls.items():
                results = await asyncio.gather(*(ok(u) for u in region_urls))
                self.healthy[region] = any(results)
            await self._sleep(interval)

    async def stop(self) -> None:
        for task in self._shifts.values():
            task.cancel()
        for task in self._shifts.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def state(self) -> dict[str, object]:
        shares = self.shares()
        return {"failover": self.failover, "regions": {
            r: {"healthy": self.healthy[r], "evacuated_fraction": self.evacuated[r],
                "traffic_share": round(shares[r], 4), "routed": self.routed[r]}
            for r in self.regions}}

    def samples(self) -> list[Sample]:
        shares = self.shares()
        out: list[Sample] = []
        for r in self.regions:
            out += [("edge_traffic_share", {"region": r}, shares[r]),
                    ("edge_evacuated_fraction", {"region": r}, self.evacuated[r]),
                    ("edge_region_healthy", {"region": r}, float(self.healthy[r]))]
        return out

    def counters(self) -> list[Sample]:
        return [("edge_routed_total", {"region": r}, float(self.routed[r]))
                for r in self.regions]
