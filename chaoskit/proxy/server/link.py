"""One direction of a proxied connection: reader side → toxic stubs → sink side.

The hot path has no tasks and no queues: with no toxics on a direction,
``data_received`` on one socket writes straight into the other socket's
transport, and transport flow control (``pause_writing``) pauses the reader.
Only toxics add stages: each is a :class:`~.stub.Stub` task fed by a channel.

::

    client socket ─data_received─▶ head ─▶ [stub ▶ stub ▶ …] ─▶ Sink ─write─▶ upstream socket

Live changes are synchronous, so an API call never waits on a link: an added
toxic is appended after the current tail; a removed one is interrupted, passes
what it holds and what is queued for it on at once, and then splices itself out.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from chaoskit.proxy.server.channel import Chunk, End, Item, Outlet
from chaoskit.proxy.server.stub import Clock, Stub

if TYPE_CHECKING:
    from chaoskit.proxy.server.toxics.base import Toxic


class ConnectionControl:
    """What a link may ask of its connection."""

    def close(self) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def half_closed(self, link: Link) -> None:
        raise NotImplementedError

    def socket_made(self, side: Side) -> None:
        """A socket of the connection is connected."""


class Side(asyncio.Protocol):
    """One socket of a proxied connection: the client's or the upstream's."""

    def __init__(self, connection: ConnectionControl) -> None:
        self.connection = connection
        self.transport: asyncio.Transport | None = None
        self.outbound: Link | None = None
        """The link that carries what this socket reads."""
        self.write_paused = False
        self._space_waiters: list[asyncio.Future[None]] = []
        self._on_space: Callable[[], None] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.connection.socket_made(self)

    def data_received(self, data: bytes) -> None:
        if self.outbound is not None:
            self.outbound.feed(data)

    def eof_received(self) -> bool:
        if self.outbound is not None:
            self.outbound.feed_end(End.EOF)
        return True  # keep the other direction open: half-close is passed on, not forced

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.resume_writing()  # release anything waiting for space on a dead socket
        self.connection.close()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._space_waiters:
            waiters, self._space_waiters = self._space_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        callback = self._on_space
        if callback is not None:
            self._on_space = None
            callback()

    def wait_space(self) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        if self.write_paused:
            self._space_waiters.append(future)
        else:
            future.set_result(None)
        return future

    def notify_space(self, callback: Callable[[], None] | None) -> None:
        self._on_space = callback

    def reset(self) -> None:
        """Close with an RST instead of a FIN (SO_LINGER 0, then abort)."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class Sink(Outlet):
    """The last stage of a link: writes chunks to the far socket, acts on end markers."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.side = link.dst
        self.ended = False
        self.pending: list[Item] | None = []
        """What arrived before the far socket was connected (None once it is)."""

    def put(self, item: Item) -> None:
        if self.pending is not None:
            # Some loops (uvloop) read before a pause in connection_made takes effect.
            self.pending.append(item)
            return
        if self.ended:
            return
        if isinstance(item, Chunk):
            transport = self.side.transport
            if transport is not None and not transport.is_closing():
                transport.write(item.data)
            return
        self.ended = True
        self.link.finish(item)

    def connected(self) -> None:
        pending, self.pending = self.pending or [], None
        for item in pending:
            self.put(item)

    def full(self) -> bool:
        return self.side.write_paused

    def wait_space(self) -> asyncio.Future[None]:
        return self.side.wait_space()

    def notify_space(self, callback: Callable[[], None] | None) -> None:
        self.side.notify_space(callback)


class Link:
    """One direction (``upstream``: client → server, ``downstream``: server → client)."""

    def __init__(self, connection: ConnectionControl, stream: str, src: Side, dst: Side,
                 clock: Clock | None = None) -> None:
        self.connection = connection
        self.stream = stream
        self.src = src
        self.dst = dst
        src.outbound = self
        self.sink = Sink(self)
        self.stubs: list[Stub] = []
        self.head: Outlet = self.sink
        self.reader_paused = False
        # Chunks are stamped and toxics timed by one clock: the loop's, or a test's.
        self._clock: Clock = clock if clock is not None else asyncio.get_running_loop()

    # --- data in ------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        head = self.head
        if head is self.sink and self.sink.pending is None:
            self.dst.transport.write(data)  # type: ignore[union-attr]  # the hot path
            if self.dst.write_paused:
                self._pause_reader()
            return
        head.put(Chunk(data, self._clock.time()))
        if head.full():
            self._pause_reader()

    def feed_end(self, how: End) -> None:
        self.head.put(how)

    def _pause_reader(self) -> None:
        if not self.reader_paused and self.src.transport is not None:
            self.reader_paused = True
            self.src.transport.pause_reading()
        self.head.notify_space(self._resume_reader)

    def _resume_reader(self) -> None:
        if not self.reader_paused:
            return
        if self.head.full():
            self.head.notify_space(self._resume_reader)
            return
        self.reader_paused = False
        transport = self.src.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def _head_changed(self) -> None:
        self.head = self.stubs[0].input if self.stubs else self.sink
        self._resume_reader()

    # --- toxics -------------------------------------------------------------

    def add(self, name: str, toxic: Toxic, toxicity: float) -> None:
        stub = Stub(self, name, toxic, toxicity, self.sink, toxic.new_state(), self._clock)
        if self.stubs:
            self.stubs[-1].output = stub.input
        self.stubs.append(stub)
        self._head_changed()
        stub.start()

    def update(self, name: str, toxic: Toxic, toxicity: float) -> None:
        for stub in self.stubs:
            if stub.name == name and not stub.removed:
                stub.update(toxic, toxicity)

    def remove(self, name: str) -> None:
        for stub in list(self.stubs):
            if stub.name != name or stub.removed:
                continue
            stub.toxic.cleanup(stub)
            if stub.task is None or stub.task.done():
                stub.removed = True
                self.splice_out(stub)
            else:
                stub.remove()

    def splice_out(self, stub: Stub) -> None:
        index = self.stubs.index(stub)
        if index > 0:
            self.stubs[index - 1].output = stub.output
        del self.stubs[index]
        self._head_changed()

    # --- end ----------------------------------------------------------------

    def finish(self, how: End) -> None:
        if how is End.EOF:
            transport = self.dst.transport
            if transport is not None and not transport.is_closing() and transport.can_write_eof():
                try:
                    transport.write_eof()
                except OSError:
                    # ENOTCONN: the peer is already gone (a caller gave up on a slow
                    # answer); there is no half to keep open, so close the whole thing.
                    self.connection.close()
                    return
            self.connection.half_closed(self)
        elif how is End.CLOSE:
            self.connection.close()
        else:
            self.connection.reset()

    def close_connection(self) -> None:
        self.connection.close()

    def cancel(self) -> None:
        for stub in self.stubs:
            stub.cancel()
