"""Retries: try an idempotent call again, on ANOTHER instance, within a budget.

A failed call is often a failed *instance* (killed, partitioned, overloaded):
retrying on the same one mostly fails again, retrying on a sibling mostly
succeeds. So each attempt picks a fresh instance, has its own timeout (a hung
instance must not eat the whole deadline), and attempts are spaced by capped
exponential backoff with jitter so retries from many callers do not arrive in
lock-step.

Retries amplify load: when a dependency is down for everyone, each request
becomes ``attempts`` requests exactly when the system is weakest. A token
bucket bounds that (the AWS SDK "retry quota", gRPC "retry throttling"): each
first attempt deposits ``budget_ratio`` tokens, each retry spends one, so
retries stay below ``budget_ratio`` of the traffic once the bucket is drained.

Only idempotent calls are retried — a GET, or a POST carrying an
Idempotency-Key — because a retry of anything else may do the work twice.
The loop is tenacity's ``AsyncRetrying``; a circuit breaker refusal is never
retried (the breaker already decided).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

T = TypeVar("T")
M = TypeVar("M")
Guard = Callable[[], AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def _no_guard() -> AsyncIterator[None]:
    yield


@dataclass
class RetryBudget:
    """Token bucket: retries are allowed while tokens last; first attempts refill it."""

    ratio: float = 0.2
    capacity: float = 10.0
    tokens: float = field(default=-1.0)
    exhausted: int = 0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def deposit(self) -> None:
        self.tokens = min(self.capacity, self.tokens + self.ratio)

    def spend(self) -> bool:
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.exhausted += 1
        return False


class _OutOfBudget(stop_base):
    """A tenacity stop condition: stop when the bucket has no token for this retry."""

    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not self.budget.spend()


class RetryPolicy(Generic[M]):
    """Runs one logical call as up to ``attempts`` attempts on distinct instances.

    ``pick(avoid)`` chooses an instance not in ``avoid`` when it can; ``send(member)``
    makes one attempt. ``retry_on`` says which errors are worth another attempt.
    """

    def __init__(self, *, enabled: bool = True, attempts: int = 3,
                 attempt_timeout: float = 0.5, deadline: float = 2.0,
                 backoff: float = 0.01, max_backoff: float = 0.1,
                 budget: RetryBudget | None = None,
                 retry_on: Callable[[BaseException], bool] = lambda e: True,
                 member_id: Callable[[M], str] = str) -> None:
        self.enabled = enabled
        self.attempts = attempts
        self.attempt_timeout = attempt_timeout
        self.deadline = deadline
        self.backoff, self.max_backoff = backoff, max_backoff
        self.budget = budget if budget is not None else RetryBudget()
        self.retry_on = retry_on
        self.member_id = member_id
        self.retries = 0

    async def call(self, pick: Callable[[set[str]], M], send: Callable[[M], Awaitable[T]],
                   *, idempotent: bool, guard: Guard = _no_guard,
                   observe: Callable[[M, BaseException | None], None] | None = None,
                   distinct: int | None = None) -> T:
        """One logical call. Each attempt nests as ``guard`` (a breaker) → timeout → send,
        so a timeout counts against the breaker; ``observe`` hears every attempt's outcome.
        ``distinct`` (how many instances are in rotation) caps the attempts: a retry on
        the instance that just failed would mostly fail again, and load it further.
        """
        tried: set[str] = set()

        async def attempt_once() -> T:
            member = pick(tried)
            tried.add(self.member_id(member))
            try:
                async with guard(), asyncio.timeout(self.attempt_timeout):
                    result = await send(member)
            except Exception as error:
                if observe is not None:
                    observe(member, error)
                raise
            if observe is not None:
                observe(member, None)
            return result

        self.budget.deposit()
        if not (self.enabled and idempotent):
            return await attempt_once()
        retrying = AsyncRetrying(
            # The budget is asked last, so a token is spent only on a retry that happens.
            stop=stop_any(stop_after_attempt(min(self.attempts, distinct or self.attempts)),
                          stop_after_delay(self.deadline),
                          _OutOfBudget(self.budget)),
            wait=wait_exponential_jitter(multiplier=self.backoff, max=self.max_backoff,
                                         jitter=self.backoff),
            retry=retry_if_exception(self.retry_on),
            before_sleep=self._count, reraise=True,
        )
        result: T = await retrying(attempt_once)
        return result

    def _count(self, state: RetryCallState) -> None:
        self.retries += 1
