"""A stub runs one toxic on one link, between an input channel and an outlet.

This is Toxiproxy's ``ToxicStub``: the toxic's ``pipe`` is a coroutine that
reads chunks with ``recv``, writes them with ``send`` and may ``sleep``. Any of
those waits is cut short by ``interrupt()`` (the toxic was updated or
removed), which raises :class:`Interrupted` inside ``pipe``; a toxic holding a
chunk at that moment forwards it with ``send_now`` so nothing is dropped.

Toxicity is drawn each time the stub (re)starts its toxic: per connection,
per direction, and again after an update, as in Toxiproxy.

Time comes from a :class:`Clock`: the event loop itself, unless a test passes
a fake one, so a toxic's delays can be tested without waiting them out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from chaoskit.proxy.server.channel import Channel, Chunk, End, Item, Outlet

if TYPE_CHECKING:
    from chaoskit.proxy.server.toxics.base import Toxic

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """The toxic must return: it was updated or removed."""


class LinkControl(Protocol):
    """What a stub may ask of the link it runs on."""

    def close_connection(self) -> None:
        """Close both sockets now (a failing toxic)."""

    def splice_out(self, stub: Stub) -> None:
        """Remove a drained, removed stub from the chain."""


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the pipeline needs of time; an asyncio event loop is one."""

    def time(self) -> float:
        """Seconds, monotonic."""
        ...

    def call_later(self, delay: float, callback: Callable[[asyncio.Future[None]], None],
                   future: asyncio.Future[None], /) -> Cancellable:
        """Call ``callback(future)`` once ``delay`` seconds have passed."""
        ...


class Stub:
    """One toxic on one link. ``pipe`` coroutines use only the methods below."""

    def __init__(self, link: LinkControl, name: str, toxic: Toxic, toxicity: float,
                 output: Outlet, state: object, clock: Clock | None = None) -> None:
        self.link = link
        self.name = name
        self.toxic = toxic
        self.toxicity = toxicity
        self.input = Channel(toxic.buffer_size)
        self.output = output
        self.state = state
        self.removed = False
        self.task: asyncio.Task[None] | None = None
        self._interrupted = False
        self._waiter: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._clock: Clock = clock if clock is not None else self._loop

    # --- used by toxics -------------------------------------------------

    def now(self) -> float:
        return self._clock.time()

    async def recv(self, timeout: float | None = None) -> Item:
        """The next chunk or end marker. ``TimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else self._clock.time() + timeout
        while True:
            if self._interrupted:
                raise Interrupted
            if len(self.input):
                return self.input.pop()
            remaining = None
            if deadline is not None:
                remaining = deadline - self._clock.time()
                if remaining <= 0:
                    raise TimeoutError
            future = self._loop.create_future()
            self.input.wait_item(future)
            await self._wait(future, remaining)

    async def send(self, chunk: Chunk) -> None:
        """Forward a chunk, then wait while the next stage is full (backpressure)."""
        output = self.output
        output.put(chunk)
        if output.full() and not self._interrupted:
            await self._wait(output.wait_space(), None)

    def send_now(self, item: Item) -> None:
        """Forward without waiting: used to flush a held chunk when interrupted."""
        self.output.put(item)

    async def sleep(self, seconds: float) -> None:
        if self._interrupted:
            raise Interrupted
        if seconds <= 0:
            return
        await self._wait(self._loop.create_future(), seconds)
        if self._interrupted:
            raise Interrupted

    def end(self, how: End) -> None:
        """Send an end marker on, behind the data already sent; the toxic should then return."""
        self.output.put(how)

    # --- used by the link -------------------------------------------------

    def start(self) -> None:
        self.task = self._loop.create_task(self._run(), name=f"toxic {self.name}")

    def interrupt(self) -> None:
        self._interrupted = True
        self._wake()

    def update(self, toxic: Toxic, toxicity: float) -> None:
        self.toxic = toxic
        self.toxicity = toxicity
        self.interrupt()

    def remove(self) -> None:
        self.removed = True
        self.interrupt()

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _run(self) -> None:
        from chaoskit.proxy.server.toxics.noop import Noop

        try:
            while not self.removed:
                self._interrupted = False
                toxic = self.toxic if random.random() < self.toxicity else Noop()
                try:
                    await toxic.pipe(self)
                    return  # the toxic ended the stream or the connection
                except Interrupted:
                    continue
            self._drain()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A toxic bug must not take the server down: drop this connection only.
            log.exception("toxic %s failed; closing its connection", self.name)
            self.link.close_connection()

    def _drain(self) -> None:
        """Removed: pass what is queued on at once, then leave the chain."""
        while len(self.input):
            item = self.input.pop()
            self.output.put(item)
            if isinstance(item, End):
                return
        self.link.splice_out(self)

    async def _wait(self, future: asyncio.Future[None], timeout: float | None) -> None:
        self._waiter = future
        handle = None
        if timeout is not None:
            handle = self._clock.call_later(timeout, _resolve, future)
        try:
            await future
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
