"""Stale fallback: the last good answer, marked stale, within max staleness only."""

from __future__ import annotations

import pytest

from targets.patterns.stale_fallback import StaleCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def good() -> str:
    return "rows"


async def broken() -> str:
    raise ConnectionError("ratings down")


async def test_fresh_answers_are_not_stale() -> None:
    cache: StaleCache[str] = StaleCache(clock=Clock())
    answer = await cache.get("ana", good)
    assert answer.value == "rows" and not answer.stale


async def test_serves_the_last_good_answer_marked_stale() -> None:
    clock = Clock()
    cache: StaleCache[str] = StaleCache(max_staleness=60, clock=clock)
    await cache.get("ana", good)
    clock.now += 30
    answer = await cache.get("ana", broken)
    assert answer.stale and answer.value == "rows"
    assert answer.age(clock.now) == 30 and cache.served_stale == 1


async def test_too_old_answers_let_the_error_through() -> None:
    clock = Clock()
    cache: StaleCache[str] = StaleCache(max_staleness=60, clock=clock)
    await cache.get("ana", good)
    clock.now += 61
    with pytest.raises(ConnectionError):
        await cache.get("ana", broken)
    assert cache.too_stale == 1 and cache.served_stale == 0


async def test_no_answer_for_an_unknown_key() -> None:
    cache: StaleCache[str] = StaleCache(clock=Clock())
    await cache.get("ana", good)
    with pytest.raises(ConnectionError):
        await cache.get("bob", broken)


async def test_disabled_fallback_never_serves_stale() -> None:
    cache: StaleCache[str] = StaleCache(enabled=False, clock=Clock())
    await cache.get("ana", good)
    with pytest.raises(ConnectionError):
        await cache.get("ana", broken)


async def test_the_cache_is_bounded() -> None:
    cache: StaleCache[str] = StaleCache(max_entries=2, clock=Clock())
    for user in ("a", "b", "c"):
        await cache.get(user, good)
    with pytest.raises(ConnectionError):
        await cache.get("a", broken)  # the oldest entry was dropped
    assert (await cache.get("c", broken)).stale
