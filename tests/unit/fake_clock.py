"""A clock that moves only when a test says so, for code that takes a clock instead of waiting.

``FakeClock`` is three things at once, matching what the code under test asks for:

- a callable returning the time (``clock=fake`` where code takes ``time.monotonic``);
- an ``async sleep(seconds)`` (where code takes ``sleep=asyncio.sleep``);
- ``time()`` and ``call_later()`` (where code takes the event loop as its timer).

``await fake.advance(seconds)`` moves time forward, firing each timer due on the way at
its own deadline and letting the event loop run what that woke before going on, so a
chain (a sleep that schedules the next sleep) plays out as it would in real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any

SETTLE_ROUNDS = 20
"""Event-loop passes after each step: enough for a woken task to run to its next wait."""


class FakeTimer:
    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._timers: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> FakeTimer:
        timer = FakeTimer(self.now + max(0.0, delay), callback, args)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.call_later(seconds, _resolve, future)
        await future

    def pending(self) -> int:
        """Timers not yet fired nor cancelled."""
        return sum(not timer.cancelled for _, _, timer in self._timers)

    async def advance(self, seconds: float) -> None:
        end = self.now + seconds
        await settle()
        while self._timers and self._timers[0][0] <= end:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self.now = max(self.now, when)
            timer.callback(*timer.args)
            await settle()
        self.now = end
        await settle()


async def settle() -> None:
    """Let every ready task run until it waits again (no wall time passes)."""
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(0)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
