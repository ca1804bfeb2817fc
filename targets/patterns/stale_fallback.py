"""Stale-data fallback: when a dependency fails, serve the last good answer, marked stale.

For data that changes slowly (recommendations, catalogue, profile) an answer
from a minute ago beats an error page: Netflix's "fallback to cached data",
Hystrix's "cache via network" fallback, HTTP's ``stale-if-error`` (RFC 5861).

Every fresh answer is stored with its ``fetched_at`` time. When fetching fails
(error, 5xx, timeout, breaker open) and the stored answer is at most
``max_staleness`` seconds old, it is served instead — visibly: the caller
learns it is stale (``X-Cache: STALE`` and ``Age`` headers in the services),
and the ``stale_served_total`` metric counts it. Older than that, the error is
passed on: very old data can be worse than none.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T
    fetched_at: float
    """Epoch seconds when the value was fetched from the dependency."""
    stale: bool = False

    def age(self, now: float) -> float:
        return max(0.0, now - self.fetched_at)


class StaleCache(Generic[T]):
    """Last good answer per key, served when a fresh fetch fails and it is recent enough."""

    def __init__(self, *, max_staleness: float = 60.0, enabled: bool = True,
                 max_entries: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self.max_staleness = max_staleness
        self.max_entries = max_entries
        self.enabled = enabled
        self.served_stale = 0
        self.too_stale = 0
        self._clock = clock
        self._answers: dict[str, Answer[T]] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[T]]) -> Answer[T]:
        """A fresh answer from ``fetch``, else a stale one, else ``fetch``'s error."""
        try:
            value = await fetch()
        except Exception:
            stale = self._fallback(key)
            if stale is None:
                raise
            return stale
        answer = Answer(value=value, fetched_at=self._clock())
        if self.enabled:
            self._answers.pop(key, None)  # re-insert: dict order is then oldest-first
            self._answers[key] = answer
            if len(self._answers) > self.max_entries:
                del self._answers[next(iter(self._answers))]
        return answer

    def _fallback(self, key: str) -> Answer[T] | None:
        if not self.enabled:
            return None
        last = self._answers.get(key)
        if last is None:
            return None
        if last.age(self._clock()) > self.max_staleness:
            self.too_stale += 1
            return None
        self.served_stale += 1
        return Answer(value=last.value, fetched_at=last.fetched_at, stale=True)
