"""Waiting on the load stream: for enough seconds of data, or for the next sample."""

from __future__ import annotations

import asyncio
import contextlib
import time

from chaoskit.errors import LoadError
from chaoskit.model.history import Group, History, LoadSample


class SampleClock:
    """Wakes waiters when a second of load data is complete; measures how much data a
    window holds.

    A second is complete once every group the run reads has sent its sample for it: one
    stream without groups (or with cohorts of one deployment, whose all-traffic samples
    are group ""), the experiment's and the control's with two deployments.
    """

    def __init__(self, history: History, *, has_load: bool = False,
                 groups: tuple[Group, ...] = ("",)) -> None:
        self.history = history
        self.has_load = has_load
        """Set once a load runs: until then a window is covered by time alone."""
        self.groups = groups
        self._arrived = asyncio.Event()
        self._partial: dict[int, set[Group]] = {}

    def on_sample(self, sample: LoadSample) -> None:
        if sample.group not in self.groups:
            return  # a cohort's sample beside the all-traffic one (FIT mode)
        seen = self._partial.setdefault(sample.second, set())
        seen.add(sample.group)
        if len(seen) == len(self.groups):
            del self._partial[sample.second]
            self._arrived.set()
        # A group that never sends a second must not keep it here for ever.
        for second in [s for s in self._partial if s < sample.second - 60]:
            del self._partial[second]

    async def next(self, timeout: float = 1.0) -> None:
        """Return at the next sample, or after ``timeout`` seconds."""
        self._arrived.clear()
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands as the
        # sample arrives, and the guardrail watch, cancelled at the end of the fault, then
        # watched on for ever: the run never reached its revert (seen in CI, stop 18).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._arrived.wait()

    def seconds_since(self, since: float) -> int:
        """Seconds from ``since`` on for which every group has a sample."""
        seen: dict[int, set[Group]] = {}
        for e in self.history.of_type(LoadSample):
            if e.second >= int(since) and e.group in self.groups:
                seen.setdefault(e.second, set()).add(e.group)
        return sum(1 for groups in seen.values() if len(groups) == len(self.groups))

    async def cover(self, since: float, seconds: float, *, slack: float = 15.0) -> None:
        """Wait until the load holds ``seconds`` of samples from ``since`` on.

        Without load there is nothing to wait for but the time itself. A load
        stream that stops delivering within the slack is an error, not a hang.
        """
        if not self.has_load:
            await asyncio.sleep(max(0.0, since + seconds - time.time()))
            return
        needed = max(1, round(seconds))
        deadline = time.time() + seconds + slack
        while self.seconds_since(since) < needed:
            if time.time() > deadline:
                raise LoadError(
                    f"the load delivered {self.seconds_since(since)} of {needed} seconds of "
                    "statistics in time; is Locust still running? (see locust.log)"
                )
            await self.next()
