"""The monkey's clock: real time, or real time compressed (``--time-scale``), one code path.

The monkey only ever asks ``now()`` and ``sleep_until(t)``; a scaled clock
runs ``scale`` monkey-seconds per real second from a chosen starting instant,
and the unit tests hand it a clock that jumps (a simulated year in
milliseconds). Probe windows and the time a kill takes stay real seconds:
they measure the system, not the calendar.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

MAX_NAP = 1.0
"""Real seconds slept at most in one go, so a stop is noticed promptly."""


class Clock(Protocol):
    def now(self) -> float:
        """The monkey's time, as a Unix timestamp."""
        ...

    async def sleep_until(self, when: float) -> None:
        """Return at ``when`` on this clock (at once if it has passed)."""
        ...


class ScaledClock:
    """``scale`` monkey-seconds per real second, from ``start`` (default: now)."""

    def __init__(self, scale: float = 1.0, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("the time scale must be positive")
        self.scale = scale
        self._real0 = time.time()
        self._start = self._real0 if start is None else start

    def now(self) -> float:
        return self._start + (time.time() - self._real0) * self.scale

    def real_seconds(self, monkey_seconds: float) -> float:
        return monkey_seconds / self.scale

    async def sleep_until(self, when: float) -> None:
        while (left := when - self.now()) > 0:
            await asyncio.sleep(min(left / self.scale, MAX_NAP))


class SteppedClock:
    """A clock that jumps to whatever it is asked to wait for (simulations, tests)."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep_until(self, when: float) -> None:
        self._now = max(self._now, when)
