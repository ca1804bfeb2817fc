"""Calling a dependency with every client-side defence, in the recommended nesting order:

    retry (another instance, budget) → circuit breaker → per-attempt timeout → HTTP call

One :class:`UpstreamClient` per dependency. It spreads calls over the pool,
turns a 5xx answer, a connection error or a timeout into a failure the
defences see, and returns 2xx-4xx answers as they are (a 4xx is the caller's
mistake, not the upstream's sickness). What is switched off in the config is
built disabled, so the same code path runs with or without each defence.

FIT (:mod:`targets.common.fit`): a call made for a request of the control or
experiment cohort goes through that cohort's own breaker, and the fault rules
in force for its cohort and this dependency are applied inside the attempt
(a delay counts against the per-attempt timeout, a failure is retried and
trips the cohort's breaker as a real one would).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp

from targets.common.config import Config, Upstream
from targets.common.fit import COHORTS, Effect, FitRules, InjectedFailure
from targets.common.metrics import Metrics
from targets.common.pool import Member, UpstreamPool
from targets.patterns.circuit_breaker import AsyncCircuitBreaker, CircuitOpenError
from targets.patterns.retries import RetryBudget, RetryPolicy

FORWARDED = ("Content-Type", "Retry-After", "X-Cache", "Age", "Idempotent-Replayed", "X-Shed")
"""Answer headers passed back to the caller."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]
    instance: str


class UpstreamStatusError(Exception):
    """The upstream answered 5xx: counted as its failure, retried if idempotent."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.instance} answered {reply.status}")
        self.reply = reply


def is_failure(error: BaseException) -> bool:
    return isinstance(error, UpstreamStatusError | aiohttp.ClientError | TimeoutError | OSError)


class UpstreamClient:
    def __init__(self, name: str, config: Config, session: aiohttp.ClientSession,
                 metrics: Metrics, *, attempt_timeout: float = 0.5, attempts: int = 3,
                 fail_max: int = 5, reset_timeout: float = 2.0, trials: int = 3,
                 upstreams: Sequence[Upstream] | None = None,
                 answers_fail: bool = True, fit: FitRules | None = None) -> None:
        """``upstreams`` defaults to every instance of the service ``name`` in the config.

        With ``answers_fail=False`` a 5xx *answer* is returned, not counted or retried:
        for callers of another router (the edge calling gateways), whose 5xx only
        relays a failure behind it that it has already retried. ``fit``: the instance's
        request-level fault rules; a rule's dependency is ``name`` up to any ``@``
        (``gateway@us-east`` is the service ``gateway``).
        """
        self.answers_fail = answers_fail
        self.name = name
        self.dependency = name.partition("@")[0]
        self.fit = fit
        self.session = session
        self.metrics = metrics
        self.pool = UpstreamPool(name, config.upstream(name) if upstreams is None else upstreams,
                                 ejection=config.enabled("retries"))
        # Up to ``trials`` probes in a row before the circuit reopens: a lossy path
        # (some connections reset or swallowed) fails one probe by chance, and a
        # reopened circuit stays shut a whole ``reset_timeout`` more.
        self.breaker = AsyncCircuitBreaker(name, fail_max=fail_max, reset_timeout=reset_timeout,
                                           enabled=config.enabled("circuit_breaker"),
                                           trials=trials, is_failure=is_failure)
        # Each cohort's own breaker (see targets.common.fit): an experiment cohort's
        # injected failures must not open the breaker the control cohort goes through.
        self.cohort_breakers = {
            cohort: AsyncCircuitBreaker(f"{name}:{cohort}", fail_max=fail_max,
                                        reset_timeout=reset_timeout,
                                        enabled=config.enabled("circuit_breaker"),
                                        trials=trials, is_failure=is_failure)
            for cohort in (COHORTS if fit is not None else ())}
        breakers = [self.breaker, *self.cohort_breakers.values()]
        self.retry: RetryPolicy[Member] = RetryPolicy(
            enabled=config.enabled("retries"), attempts=attempts,
            attempt_timeout=attempt_timeout, deadline=attempt_timeout * attempts + 0.5,
            budget=RetryBudget(ratio=0.2, capacity=20),
            retry_on=lambda e: is_failure(e) and not isinstance(e, CircuitOpenError),
            member_id=lambda m: m.id)
        metrics.collect("gauge", lambda: [*self.pool.samples(),
                                          *(s for b in breakers for s in b.samples())])
        metrics.collect("counter", self._counters)

    async def request(self, method: str, path: str, *, idempotent: bool,
                      headers: Mapping[str, str] | None = None, body: bytes | None = None,
                      ) -> Reply:
        """The upstream's answer (< 500), or the last error after the defences gave up."""
        cohort = self.fit.cohort_of(headers) if self.fit is not None else None
        breaker = self.cohort_breakers[cohort] if cohort is not None else self.breaker

        async def send(member: Member) -> Reply:
            # Looked up per attempt: a rule set or cleared mid-call applies from the next one.
            effect = self._effect(cohort)
            if effect is not None:
                faulted.add(member.id)
                await asyncio.sleep(effect.delay)
                if effect.error:
                    raise InjectedFailure(f"FIT: calls to {self.dependency} fail for the "
                                          f"{cohort} cohort")
            async with self.session.request(method, member.url + path, headers=headers,
                                            data=body) as response:
                reply = Reply(response.status, await response.read(),
                              {k: response.headers[k] for k in FORWARDED
                               if k in response.headers}, member.id)
            # A shed answer is the upstream protecting itself, not failing: it goes back
            # to the caller as it is, without feeding the breaker or the ejection.
            if reply.status >= 500 and "X-Shed" not in reply.headers and self.answers_fail:
                raise UpstreamStatusError(reply)
            return reply

        def observe(member: Member, error: BaseException | None) -> None:
            outcome = "ok" if error is None else type(error).__name__
            self.metrics.inc("upstream_requests_total", upstream=self.name, outcome=outcome)
            if member.id in faulted:
                # An injected fault says nothing about the instance: the shared pool
                # must not eject it for everyone.
                faulted.discard(member.id)
                return
            if error is None:
                self.pool.succeeded(member)
            elif is_failure(error):
                self.pool.failed(member)

        faulted: set[str] = set()
        return await self.retry.call(self.pool.pick, send, idempotent=idempotent,
                                     guard=breaker.guard, observe=observe,
                                     distinct=max(1, len(self.pool.available())))

    def _effect(self, cohort: str | None) -> Effect | None:
        if self.fit is None or cohort is None:
            return None
        return self.fit.effect(self.dependency, cohort)

    def _counters(self) -> list[tuple[str, dict[str, str], float]]:
        labels = {"upstream": self.name}
        return [*self.breaker.counters(),
                *(c for b in self.cohort_breakers.values() for c in b.counters()),
                ("upstream_retries_total", labels, float(self.retry.retries)),
                ("retry_budget_exhausted_total", labels, float(self.retry.budget.exhausted)),
                ("pool_ejections_total", labels, float(self.pool.ejections))]
