"""Priority load shedding: critical is kept, low is refused fast, queue waits are bounded."""

from __future__ import annotations

import asyncio
import time

import pytest

from targets.patterns.load_shedding import LoadShedder, ShedError, priority_of


async def hold(shedder: LoadShedder, priority: str, release: asyncio.Event) -> str:
    async with shedder.admit(priority):
        await release.wait()
    return priority


async def occupy(shedder: LoadShedder, priority: str, n: int,
                 release: asyncio.Event) -> list[asyncio.Task[str]]:
    tasks = [asyncio.create_task(hold(shedder, priority, release)) for _ in range(n)]
    await asyncio.sleep(0.01)
    return tasks


async def test_low_priority_is_refused_fast_while_critical_gets_in() -> None:
    shedder = LoadShedder(limit=4, max_wait=0.5)
    release = asyncio.Event()
    held = await occupy(shedder, "critical", 2, release)  # low's share (2 of 4) is used up
    started = time.monotonic()
    with pytest.raises(ShedError) as refused:
        async with shedder.admit("low"):
            pass
    assert time.monotonic() - started < 0.05
    assert refused.value.retry_after >= 1 and shedder.shed["low"] == 1
    async with shedder.admit("critical"):
        assert shedder.inflight == 3
    release.set()
    await asyncio.gather(*held)
    assert shedder.inflight == 0


async def test_critical_waits_for_a_slot_then_runs() -> None:
    shedder = LoadShedder(limit=2, max_wait=1.0)
    release = asyncio.Event()
    held = await occupy(shedder, "critical", 2, release)
    waiter = asyncio.create_task(hold(shedder, "critical", asyncio.Event()))
    await asyncio.sleep(0.02)
    assert not waiter.done()
    release.set()
    await asyncio.gather(*held)
    await asyncio.sleep(0.01)
    assert shedder.inflight == 1  # the waiter was handed the freed slot
    waiter.cancel()


async def test_the_queue_wait_is_bounded() -> None:
    shedder = LoadShedder(limit=1, max_wait=0.05)
    release = asyncio.Event()
    held = await occupy(shedder, "critical", 1, release)
    started = time.monotonic()
    with pytest.raises(ShedError):
        async with shedder.admit("critical"):
            pass
    assert 0.04 < time.monotonic() - started < 0.5
    release.set()
    await asyncio.gather(*held)


async def test_a_full_queue_refuses_at_once() -> None:
    shedder = LoadShedder(limit=1, max_wait=1.0, max_queue=1)
    release = asyncio.Event()
    held = await occupy(shedder, "critical", 1, release)
    queued = await occupy(shedder, "critical", 1, release)
    with pytest.raises(ShedError):
        async with shedder.admit("critical"):
            pass
    release.set()
    await asyncio.gather(*held, *queued)
    assert shedder.inflight == 0


async def test_disabled_shedding_admits_everything() -> None:
    shedder = LoadShedder(limit=1, max_wait=0.01, enabled=False)
    release = asyncio.Event()
    held = await occupy(shedder, "critical", 5, release)
    async with shedder.admit("low"):
        pass
    release.set()
    assert await asyncio.gather(*held) == ["critical"] * 5
    assert sum(shedder.shed.values()) == 0


def test_priority_header_values() -> None:
    assert priority_of("Critical") == "critical"
    assert priority_of("low") == "low"
    assert priority_of(None) == "normal" and priority_of("urgent!!") == "normal"
