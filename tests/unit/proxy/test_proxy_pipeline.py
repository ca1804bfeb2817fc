"""Stubs and toxics on in-memory channels: FIFO, timestamps, interrupts, flushing, state.

Time is a fake clock the stubs read and set their timers on: it moves only when a test
advances it, so "not yet" and "by now" are exact, whatever the machine's load.
"""

from __future__ import annotations

import asyncio

from chaoskit.proxy.server.channel import Channel, Chunk, End, Item
from chaoskit.proxy.server.stub import Stub
from chaoskit.proxy.server.toxics.base import Toxic
from chaoskit.proxy.server.toxics.latency import Latency
from chaoskit.proxy.server.toxics.limit_data import LimitData
from chaoskit.proxy.server.toxics.timeout import Timeout
from tests.unit.fake_clock import FakeClock, settle


class FakeLink:
    def __init__(self) -> None:
        self.spliced: list[Stub] = []
        self.closed = False

    def close_connection(self) -> None:
        self.closed = True

    def splice_out(self, stub: Stub) -> None:
        self.spliced.append(stub)


def items(channel: Channel) -> list[Item]:
    out = []
    while len(channel):
        out.append(channel.pop())
    return out


def stub_for(toxic: Toxic, toxicity: float = 1.0,
             clock: FakeClock | None = None) -> tuple[Stub, Channel, FakeLink]:
    link = FakeLink()
    out = Channel(1000)
    stub = Stub(link, "t", toxic, toxicity, out, toxic.new_state(), clock or FakeClock())
    stub.start()
    return stub, out, link


def chunks(channel: Channel) -> list[bytes]:
    return [c.data for c in items(channel) if isinstance(c, Chunk)]


async def test_latency_counts_from_receive_time_and_keeps_order() -> None:
    clock = FakeClock()
    stub, out, _ = stub_for(Latency(latency=50), clock=clock)
    stub.input.put(Chunk(b"old", clock.now - 0.045))  # already queued 45 ms: 5 ms left
    stub.input.put(Chunk(b"new", clock.now))
    await clock.advance(0.0049)
    assert chunks(out) == []
    await clock.advance(0.0001)
    assert chunks(out) == [b"old"]
    await clock.advance(0.0449)  # "new" waits its own 50 ms, not 50 ms after "old"
    assert chunks(out) == []
    await clock.advance(0.0001)
    assert chunks(out) == [b"new"]
    stub.input.put(End.EOF)
    await asyncio.wait_for(stub.task, 1)  # type: ignore[arg-type]
    assert items(out) == [End.EOF]


async def test_latency_keeps_fifo_when_a_later_chunk_is_due_sooner() -> None:
    clock = FakeClock()
    stub, out, _ = stub_for(Latency(latency=50), clock=clock)
    stub.input.put(Chunk(b"first", clock.now))
    stub.input.put(Chunk(b"second", clock.now - 1))  # stamped long ago: due at once
    await clock.advance(0.049)
    assert chunks(out) == []  # "second" waits behind "first"
    await clock.advance(0.001)
    assert chunks(out) == [b"first", b"second"]
    stub.cancel()


async def test_removal_flushes_held_and_queued_chunks_then_splices() -> None:
    clock = FakeClock()
    stub, out, link = stub_for(Latency(latency=10_000), clock=clock)
    for data in (b"a", b"b", b"c"):
        stub.input.put(Chunk(data, clock.now))
    await clock.advance(1)
    assert chunks(out) == []  # held: 9 s to go
    stub.remove()
    await asyncio.wait_for(stub.task, 1)  # type: ignore[arg-type]
    assert chunks(out) == [b"a", b"b", b"c"]
    assert link.spliced == [stub]


async def test_update_applies_new_attributes() -> None:
    clock = FakeClock()
    stub, out, _ = stub_for(Latency(latency=10_000), clock=clock)
    stub.input.put(Chunk(b"a", clock.now))
    await settle()
    stub.update(Latency(latency=0), 1.0)  # the held chunk goes at once, as in Toxiproxy
    await settle()
    stub.input.put(Chunk(b"b", clock.now))
    await settle()  # no time passes: latency 0 forwards at once
    assert chunks(out) == [b"a", b"b"]
    stub.cancel()


async def test_zero_toxicity_runs_noop() -> None:
    clock = FakeClock()
    stub, out, _ = stub_for(Latency(latency=10_000), toxicity=0.0, clock=clock)
    stub.input.put(Chunk(b"a", clock.now))
    await settle()  # no time passes: a noop forwards at once
    assert len(items(out)) == 1
    stub.cancel()


async def test_limit_data_truncates_then_closes_in_band() -> None:
    stub, out, _ = stub_for(LimitData(bytes=5))
    stub.input.put(Chunk(b"abc", 0.0))
    stub.input.put(Chunk(b"defg", 0.0))
    await asyncio.wait_for(stub.task, 1)  # type: ignore[arg-type]
    got = items(out)
    assert [c.data for c in got if isinstance(c, Chunk)] == [b"abc", b"de"]
    assert got[-1] is End.CLOSE


async def test_timeout_drops_data_and_closes_after_silence() -> None:
    clock = FakeClock()
    stub, out, _ = stub_for(Timeout(timeout=30), clock=clock)
    stub.input.put(Chunk(b"dropped", 0.0))
    await clock.advance(0.029)
    stub.input.put(Chunk(b"dropped too", 0.0))  # data restarts the timer
    await clock.advance(0.029)
    assert items(out) == [] and not stub.task.done()  # type: ignore[union-attr]
    await clock.advance(0.001)
    await asyncio.wait_for(stub.task, 1)  # type: ignore[arg-type]
    assert items(out) == [End.CLOSE]


async def test_timeout_removal_closes() -> None:
    clock = FakeClock()
    stub, out, _ = stub_for(Timeout(timeout=0), clock=clock)
    await clock.advance(3600)
    assert items(out) == []  # timeout 0: held open, however long
    stub.toxic.cleanup(stub)
    stub.remove()
    await asyncio.wait_for(stub.task, 1)  # type: ignore[arg-type]
    assert items(out) == [End.CLOSE]


def test_channel_backpressure_callback() -> None:
    channel = Channel(2)
    called: list[bool] = []
    channel.put(Chunk(b"1", 0.0))
    channel.put(Chunk(b"2", 0.0))
    assert channel.full()
    channel.notify_space(lambda: called.append(True))
    channel.pop()
    assert called == [True] and not channel.full()
