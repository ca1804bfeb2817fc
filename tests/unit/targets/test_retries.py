"""Retries: another instance each attempt, per-attempt timeout, a budget, idempotent only."""

from __future__ import annotations

import asyncio
import time

import pytest

from targets.patterns.retries import RetryBudget, RetryPolicy


class Down(Exception):
    pass


class Fleet:
    """Instances a, b, c; ``dead`` ones raise, ``hung`` ones never answer."""

    def __init__(self, dead: set[str] = frozenset(), hung: set[str] = frozenset()) -> None:
        self.dead, self.hung = set(dead), set(hung)
        self.calls: list[str] = []
        self.order = ["a", "b", "c"]

    def pick(self, avoid: set[str]) -> str:
        fresh = [m for m in self.order if m not in avoid]
        return (fresh or self.order)[0]

    async def send(self, member: str) -> str:
        self.calls.append(member)
        if member in self.hung:
            await asyncio.sleep(10)
        if member in self.dead:
            raise Down(member)
        return f"answer from {member}"


def policy(**kw: object) -> RetryPolicy[str]:
    kw.setdefault("backoff", 0.001)
    kw.setdefault("max_backoff", 0.002)
    return RetryPolicy(**kw)  # type: ignore[arg-type]


async def test_retries_on_another_instance() -> None:
    fleet = Fleet(dead={"a", "b"})
    assert await policy().call(fleet.pick, fleet.send, idempotent=True) == "answer from c"
    assert fleet.calls == ["a", "b", "c"]


async def test_a_hung_instance_costs_one_attempt_timeout() -> None:
    fleet = Fleet(hung={"a"})
    started = time.monotonic()
    result = await policy(attempt_timeout=0.05).call(fleet.pick, fleet.send, idempotent=True)
    assert result == "answer from b"
    assert time.monotonic() - started < 1


async def test_gives_up_after_the_attempts() -> None:
    fleet = Fleet(dead={"a", "b", "c"})
    retry = policy(attempts=2)
    with pytest.raises(Down):
        await retry.call(fleet.pick, fleet.send, idempotent=True)
    assert fleet.calls == ["a", "b"] and retry.retries == 1


async def test_non_idempotent_calls_are_tried_once() -> None:
    fleet = Fleet(dead={"a"})
    with pytest.raises(Down):
        await policy().call(fleet.pick, fleet.send, idempotent=False)
    assert fleet.calls == ["a"]


async def test_errors_not_worth_retrying_are_raised_at_once() -> None:
    fleet = Fleet(dead={"a"})
    with pytest.raises(Down):
        await policy(retry_on=lambda e: not isinstance(e, Down)).call(
            fleet.pick, fleet.send, idempotent=True)
    assert fleet.calls == ["a"]


async def test_the_budget_bounds_retries() -> None:
    budget = RetryBudget(ratio=0.0, capacity=2)
    retry = policy(budget=budget)
    fleet = Fleet(dead={"a", "b", "c"})
    for _ in range(3):
        with pytest.raises(Down):
            await retry.call(fleet.pick, fleet.send, idempotent=True)
    # 3 first attempts + only the 2 retries the bucket held
    assert len(fleet.calls) == 5 and retry.retries == 2 and budget.exhausted >= 1


def test_first_attempts_refill_the_budget() -> None:
    budget = RetryBudget(ratio=0.5, capacity=1, tokens=0)
    assert not budget.spend()
    budget.deposit()
    budget.deposit()
    assert budget.spend()


async def test_disabled_retries_try_once() -> None:
    fleet = Fleet(dead={"a"})
    with pytest.raises(Down):
        await policy(enabled=False).call(fleet.pick, fleet.send, idempotent=True)
    assert fleet.calls == ["a"]


async def test_never_retries_on_the_instance_that_just_failed() -> None:
    fleet = Fleet(dead={"a"})
    fleet.order = ["a"]  # the only instance in rotation
    with pytest.raises(Down):
        await policy().call(fleet.pick, fleet.send, idempotent=True, distinct=1)
    assert fleet.calls == ["a"]
