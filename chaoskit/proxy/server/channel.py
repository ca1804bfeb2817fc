"""Chunks and the channels that carry them between the stages of one link.

A chunk is one ``read()`` from a socket stamped with its receive time, so a
latency toxic can subtract the time a chunk already spent queued (queued
chunks must not accumulate delay). The end of a stream travels in-band, behind
the data before it, as an :class:`End` marker: ``EOF`` half-closes the far
socket, ``CLOSE`` closes the connection (limit_data, timeout), ``RESET``
aborts it with an RST (reset_peer). In-band, a close never overtakes data a
later toxic (say latency) still holds.

``put`` never blocks: the item is enqueued at once and a producer that cares
about flow control then waits for ``wait_space``. Because no item is ever
parked in a pending ``put``, re-pointing a stage's output to another channel
(live toxic add/remove) can never strand data.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Callable


class Chunk:
    """Bytes read in one go, and when they were read (``loop.time()`` seconds)."""

    __slots__ = ("data", "stamp")

    def __init__(self, data: bytes, stamp: float) -> None:
        self.data = data
        self.stamp = stamp


class End(enum.Enum):
    """How a stream ends."""

    EOF = "eof"
    CLOSE = "close"
    RESET = "reset"


Item = Chunk | End


class Outlet:
    """Where a stage sends its chunks: a channel to the next stage or the sink socket."""

    def put(self, item: Item) -> None:
        raise NotImplementedError

    def full(self) -> bool:
        raise NotImplementedError

    def wait_space(self) -> asyncio.Future[None]:
        """A future resolved once ``full()`` is false (already resolved if it is)."""
        raise NotImplementedError

    def notify_space(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` once when space frees up (reader flow control)."""
        raise NotImplementedError


class Channel(Outlet):
    """An unbounded FIFO with a soft capacity used for backpressure."""

    __slots__ = ("_getter", "_items", "_on_space", "_space_waiters", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._items: deque[Item] = deque()
        self._getter: asyncio.Future[None] | None = None
        self._space_waiters: list[asyncio.Future[None]] = []
        self._on_space: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> None:
        self._items.append(item)
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)

    def full(self) -> bool:
        return len(self._items) >= self.capacity

    def pop(self) -> Item:
        item = self._items.popleft()
        if len(self._items) < self.capacity:
            self._wake_space()
        return item

    def wait_item(self, future: asyncio.Future[None] | None) -> None:
        """Resolve ``future`` when an item arrives (the single consumer's wait)."""
        self._getter = future

    def wait_space(self) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        if self.full():
            self._space_waiters.append(future)
        else:
            future.set_result(None)
        return future

    def notify_space(self, callback: Callable[[], None] | None) -> None:
        self._on_space = callback

    def _wake_space(self) -> None:
        if self._space_waiters:
            waiters, self._space_waiters = self._space_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        callback = self._on_space
        if callback is not None:
            self._on_space = None
            callback()
