"""Waiting on the load stream: for enough seconds of data, or for the next sample."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from chaoskit.errors import LoadError
from chaoskit.model.history import Group, History, LoadSample
from chaoskit.probes.load import STREAM_SLACK


class SampleClock:
    """Wakes waiters when a second of load data is complete; measures how much data a
    window holds.

    A second is complete once every group the run reads has sent its sample for it: one
    stream without groups (or with cohorts of one deployment, whose all-traffic samples
    are group ""), the experiment's and the control's with two deployments.
    """

    def __init__(self, history: History, *, has_load: bool = False,
                 groups: tuple[Group, ...] = ("",),
                 now: Callable[[], float] = time.time) -> None:
        self.history = history
        self.has_load = has_load
        """Set once a load runs: until then a window is covered by time alone."""
        self.groups = groups
        self._arrived = asyncio.Event()
        self._partial: dict[int, set[Group]] = {}
        self._now = now
        self._last_complete: float | None = None
        """When the newest complete second arrived (None before the first)."""

    def on_sample(self, sample: LoadSample) -> None:
        if sample.group not in self.groups:
            return  # a cohort's sample beside the all-traffic one (FIT mode)
        seen = self._partial.setdefault(sample.second, set())
        seen.add(sample.group)
        if len(seen) == len(self.groups):
            del self._partial[sample.second]
            self._last_complete = self._now()
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

    def raise_if_stalled(self) -> None:
        """Raise :class:`LoadError` when a running load has sent no complete second for
        longer than :data:`STREAM_SLACK`: whatever reads it from here on is blind."""
        if not self.has_load or self._last_complete is None:
            return
        silent = self._now() - self._last_complete
        if silent > STREAM_SLACK:
            raise LoadError(
                f"the load sent no complete second for {silent:.0f}s (more than "
                f"{STREAM_SLACK:g}s): the guardrails are blind; is Locust starved or "
                "stuck? (see locust.log)")

    def seconds_since(self, since: float) -> int:
        """Seconds from ``since`` on for which every group has a sample."""
        seen: dict[int, set[Group]] = {}
        for e in self.history.of_type(LoadSample):
            if e.second >= int(since) and e.group in self.groups:
                seen.setdefault(e.second, set()).add(e.group)
        return sum(1 for groups in seen.values() if len(groups) == len(self.groups))

    async def cover(self, since: float, seconds: float, *,
                    slack: float = STREAM_SLACK) -> None:
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
