"""Load shedding: under overload, refuse some work fast so the rest is served well.

A server past its capacity that accepts everything serves everyone late:
latency climbs past the clients' timeouts and *goodput* (useful answers per
second) collapses although the CPU is busy. Shedding keeps goodput near
capacity by saying "no" early and cheaply to the work that matters least
(Amazon Builders' Library, "Using load shedding to avoid overload").

Here admission is a concurrency limit with per-priority shares: ``critical``
requests (stream starts, checkout) may fill the whole limit, ``normal`` ones
80% of it, ``low`` ones (recommendations, prefetch) only half. So as load
rises, low priority is refused first and critical capacity is kept free.
A critical/normal request that finds no slot waits in a bounded queue for at
most ``max_wait`` (queued work past its client's timeout is wasted work); a
low one is refused at once with ``503`` and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator

SHARES = {"critical": 1.0, "normal": 0.8, "low": 0.5}
"""Fraction of the concurrency limit each priority may occupy."""
PRIORITY_HEADER = "X-Priority"


class ShedError(Exception):
    """Refused to protect the server: answer 503 with Retry-After."""

    def __init__(self, priority: str, retry_after: int = 1) -> None:
        super().__init__(f"overloaded: {priority} request shed")
        self.priority = priority
        self.retry_after = retry_after


def priority_of(value: str | None) -> str:
    """The priority named by a header value; unknown or missing means ``normal``."""
    value = (value or "").strip().lower()
    return value if value in SHARES else "normal"


class LoadShedder:
    """Priority admission control in front of a server's handlers."""

    def __init__(self, *, limit: int = 32, max_wait: float = 0.25, max_queue: int = 64,
                 enabled: bool = True) -> None:
        self.limit = limit
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.enabled = enabled
        self.inflight = 0
        self.shed: collections.Counter[str] = collections.Counter()
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()

    def cap(self, priority: str) -> int:
        return max(1, int(self.limit * SHARES[priority]))

    @contextlib.asynccontextmanager
    async def admit(self, priority: str) -> AsyncIterator[None]:
        """Hold a slot for the duration of the block, or raise ShedError."""
        if not self.enabled:
            yield
            return
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: str) -> None:
        cap = self.cap(priority)
        if self.inflight < cap:
            self.inflight += 1
            return
        if priority == "low" or len(self._waiters) >= self.max_queue:
            self._refuse(priority)
        waiter: tuple[int, asyncio.Future[None]] = (cap, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            # The releaser hands its slot over (inflight already counts us) on success.
            async with asyncio.timeout(self.max_wait):
                await asyncio.shield(waiter[1])
        except TimeoutError:
            if waiter[1].done():  # handed a slot just as the wait ran out: keep it
                return
            waiter[1].cancel()
            self._refuse(priority)
        except asyncio.CancelledError:
            # The client went away while queued; give back a slot handed to us.
            if waiter[1].done() and not waiter[1].cancelled():
                self._release()
            waiter[1].cancel()
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _refuse(self, priority: str) -> None:
        self.shed[priority] += 1
        raise ShedError(priority)

    def _release(self) -> None:
        self.inflight -= 1
        # Hand freed capacity to the oldest waiter whose share still has room.
        for waiter in list(self._waiters):
            cap, future = waiter
            if self.inflight >= self.limit:
                break
            if not future.done() and self.inflight < cap:
                self._waiters.remove(waiter)
                self.inflight += 1
                future.set_result(None)
