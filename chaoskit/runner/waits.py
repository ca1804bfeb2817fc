"""Waiting on the load stream: for enough seconds of data, or for the next sample."""

from __future__ import annotations

import asyncio
import contextlib
import time

from chaoskit.errors import LoadError
from chaoskit.model.history import History, LoadSample


class SampleClock:
    """Wakes waiters when a load sample arrives; measures how much data a window holds."""

    def __init__(self, history: History, *, has_load: bool = False) -> None:
        self.history = history
        self.has_load = has_load
        """Set once a load runs: until then a window is covered by time alone."""
        self._arrived = asyncio.Event()

    def on_sample(self) -> None:
        self._arrived.set()

    async def next(self, timeout: float = 1.0) -> None:
        """Return at the next sample, or after ``timeout`` seconds."""
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout)

    def seconds_since(self, since: float) -> int:
        return sum(1 for e in self.history.of_type(LoadSample) if e.second >= int(since))

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
