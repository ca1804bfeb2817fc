"""Stubs and toxics on in-memory channels: FIFO, timestamps, interrupts, flushing, state."""

from __future__ import annotations

import asyncio

from chaoskit.proxy.server.channel import Channel, Chunk, End, Item
from chaoskit.proxy.server.stub import Stub
from chaoskit.proxy.server.toxics.base import Toxic
from chaoskit.proxy.server.toxics.latency import Latency
from chaoskit.proxy.server.toxics.limit_data import LimitData
from chaoskit.proxy.server.toxics.timeout import Timeout


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


def stub_for(toxic: Toxic, toxicity: float = 1.0) -> tuple[Stub, Channel, FakeLink]:
    link = FakeLink()
    out = Channel(1000)
    stub = Stub(link, "t", toxic, toxicity, out, toxic.new_state())
    stub.start()
    return stub, out, link


async def test_latency_counts_from_receive_time_and_keeps_order() -> None:
    stub, out, _ = stub_for(Latency(latency=50))
    now = asyncio.get_running_loop().time()
    stub.input.put(Chunk(b"old", now - 0.045))  # already queued 45 ms: 5 ms left
    stub.input.put(Chunk(b"new", now))
    await asyncio.sleep(0.02)
    assert [c.data for c in items(out) if isinstance(c, Chunk)] == [b"old"]
    await asyncio.sleep(0.05)
    assert [c.data for c in items(out) if isinstance(c, Chunk)] == [b"new"]
    stub.input.put(End.EOF)
    await asyncio.wait_for(stub.task, 1)  # type: ignore[arg-type]
    assert items(out) == [End.EOF]


async def test_removal_flushes_held_and_queued_chunks_then_splices() -> None:
    stub, out, link = stub_for(Latency(latency=10_000))
    for data in (b"a", b"b", b"c"):
        stub.input.put(Chunk(data, asyncio.get_running_loop().time()))
    await asyncio.sleep(0.01)
    stub.remove()
    await asyncio.wait_for(stub.task, 1)  # type: ignore[arg-type]
    assert [c.data for c in items(out) if isinstance(c, Chunk)] == [b"a", b"b", b"c"]
    assert link.spliced == [stub]


async def test_update_applies_new_attributes() -> None:
    stub, out, _ = stub_for(Latency(latency=10_000))
    stub.input.put(Chunk(b"a", asyncio.get_running_loop().time()))
    await asyncio.sleep(0.01)
    stub.update(Latency(latency=0), 1.0)  # the held chunk goes at once, as in Toxiproxy
    await asyncio.sleep(0.01)
    stub.input.put(Chunk(b"b", asyncio.get_running_loop().time()))
    await asyncio.sleep(0.01)
    assert [c.data for c in items(out) if isinstance(c, Chunk)] == [b"a", b"b"]
    stub.cancel()


async def test_zero_toxicity_runs_noop() -> None:
    stub, out, _ = stub_for(Latency(latency=10_000), toxicity=0.0)
    stub.input.put(Chunk(b"a", asyncio.get_running_loop().time()))
    await asyncio.sleep(0.01)
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
    stub, out, _ = stub_for(Timeout(timeout=30))
    stub.input.put(Chunk(b"dropped", 0.0))
    await asyncio.wait_for(stub.task, 1)  # type: ignore[arg-type]
    assert items(out) == [End.CLOSE]


async def test_timeout_removal_closes() -> None:
    stub, out, _ = stub_for(Timeout(timeout=0))
    await asyncio.sleep(0.01)
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
