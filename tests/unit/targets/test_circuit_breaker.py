"""The async circuit breaker: trips, fails fast, one probe in half-open, ignores cancellation.

Time is a fake clock the breaker reads: the reset timeout passes when a test says so.
"""

from __future__ import annotations

import asyncio

import pytest

from targets.patterns.circuit_breaker import AsyncCircuitBreaker, CircuitOpenError
from tests.unit.fake_clock import FakeClock, settle


class Boom(Exception):
    pass


async def fail(breaker: AsyncCircuitBreaker) -> None:
    with pytest.raises(Boom):
        async with breaker.guard():
            raise Boom


async def succeed(breaker: AsyncCircuitBreaker) -> str:
    async with breaker.guard():
        await asyncio.sleep(0)
        return "ok"


async def test_opens_after_fail_max_failures_and_fails_fast() -> None:
    breaker = AsyncCircuitBreaker("up", fail_max=3, reset_timeout=60)
    for _ in range(3):
        await fail(breaker)  # the tripping call still reports the real error
    assert breaker.state == "open" and breaker.trips == 1
    called = False
    with pytest.raises(CircuitOpenError):
        async with breaker.guard():
            called = True
    assert not called
    assert breaker.rejected == 1


async def test_a_success_resets_the_consecutive_count() -> None:
    breaker = AsyncCircuitBreaker("up", fail_max=3, reset_timeout=60)
    for _ in range(5):
        await fail(breaker)
        await fail(breaker)
        assert await succeed(breaker) == "ok"
    assert breaker.state == "closed"


async def test_errors_that_are_not_failures_do_not_trip() -> None:
    breaker = AsyncCircuitBreaker("up", fail_max=2, reset_timeout=60,
                                  is_failure=lambda e: not isinstance(e, Boom))
    for _ in range(5):
        await fail(breaker)
    assert breaker.state == "closed"


async def test_stays_open_until_the_reset_timeout_then_lets_a_probe_through() -> None:
    clock = FakeClock()
    breaker = AsyncCircuitBreaker("up", fail_max=1, reset_timeout=5, clock=clock)
    await fail(breaker)
    clock.now += 4.9
    with pytest.raises(CircuitOpenError):
        await succeed(breaker)
    assert breaker.state == "open"
    clock.now += 0.1
    assert await succeed(breaker) == "ok"
    assert breaker.state == "closed" and breaker.rejected == 1


async def test_half_open_admits_exactly_one_probe() -> None:
    clock = FakeClock()
    breaker = AsyncCircuitBreaker("up", fail_max=1, reset_timeout=5, clock=clock)
    await fail(breaker)
    clock.now += 5
    entered = 0
    release = asyncio.Event()

    async def call() -> str:
        nonlocal entered
        async with breaker.guard():
            entered += 1
            await release.wait()
            return "ok"

    tasks = [asyncio.create_task(call()) for _ in range(10)]
    await settle()
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert entered == 1
    assert results.count("ok") == 1
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 9
    assert breaker.state == "closed"


async def test_failed_probe_opens_again_for_a_full_reset_timeout() -> None:
    clock = FakeClock()
    breaker = AsyncCircuitBreaker("up", fail_max=1, reset_timeout=5, clock=clock)
    await fail(breaker)
    clock.now += 5
    await fail(breaker)
    assert breaker.state == "open" and breaker.trips == 2
    clock.now += 4.9  # counted from the failed probe, not from the first trip
    with pytest.raises(CircuitOpenError):
        await succeed(breaker)
    clock.now += 0.1
    assert await succeed(breaker) == "ok"


async def test_with_trials_a_failed_probe_is_followed_by_another_until_trials_fail() -> None:
    # A lossy path fails one probe by chance: the next caller probes at once (no reset
    # timeout in between), and only ``trials`` failed probes in a row reopen the circuit.
    clock = FakeClock()
    breaker = AsyncCircuitBreaker("up", fail_max=1, reset_timeout=5, trials=3, clock=clock)
    await fail(breaker)
    clock.now += 5
    await fail(breaker)
    await fail(breaker)
    assert breaker.state == "half-open" and breaker.trips == 1  # retrials are not trips
    await fail(breaker)
    assert breaker.state == "open" and breaker.trips == 2
    with pytest.raises(CircuitOpenError):
        await succeed(breaker)
    clock.now += 5
    await fail(breaker)
    await fail(breaker)
    assert await succeed(breaker) == "ok"  # the third probe of this round gets through
    assert breaker.state == "closed"


async def test_the_trials_count_starts_again_after_each_round() -> None:
    clock = FakeClock()
    breaker = AsyncCircuitBreaker("up", fail_max=1, reset_timeout=5, trials=2, clock=clock)
    await fail(breaker)
    for _ in range(3):  # every round gets its full two probes
        clock.now += 5
        await fail(breaker)
        assert breaker.state == "half-open"
        await fail(breaker)
        assert breaker.state == "open"


async def test_cancellation_is_not_a_failure() -> None:
    breaker = AsyncCircuitBreaker("up", fail_max=2, reset_timeout=60)

    async def hang() -> None:
        async with breaker.guard():
            await asyncio.sleep(10)

    for _ in range(5):
        task = asyncio.create_task(hang())
        await settle()  # inside the guard
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert breaker.state == "closed" and breaker.trips == 0


async def test_a_cancelled_probe_does_not_close_the_circuit() -> None:
    clock = FakeClock()
    breaker = AsyncCircuitBreaker("up", fail_max=1, reset_timeout=5, clock=clock)
    await fail(breaker)
    clock.now += 5

    async def hang() -> None:
        async with breaker.guard():
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(hang())
    await settle()  # the probe is inside the guard
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state == "half-open"
    await fail(breaker)  # the next real probe decides
    assert breaker.state == "open"


async def test_a_timeout_inside_the_guard_counts() -> None:
    breaker = AsyncCircuitBreaker("up", fail_max=2, reset_timeout=60)
    for _ in range(2):
        with pytest.raises(TimeoutError):
            async with breaker.guard(), asyncio.timeout(0.01):
                await asyncio.sleep(1)
    assert breaker.state == "open"


async def test_disabled_breaker_never_opens() -> None:
    breaker = AsyncCircuitBreaker("up", fail_max=1, reset_timeout=60, enabled=False)
    for _ in range(10):
        await fail(breaker)
    assert await succeed(breaker) == "ok"
    assert breaker.trips == 0
