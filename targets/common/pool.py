"""A small client-side load balancer over a dependency's instances, with passive ejection.

Calls are spread round-robin. An instance that fails ``eject_after`` calls in
a row is *ejected* (taken out of rotation) for ``eject_for`` seconds, then
re-admitted on trial: one more failure ejects it again at once (Envoy's
"outlier detection", Ribbon's "niws" filters). Nothing is probed actively: the
traffic itself is the health check, so a dead instance costs a few requests,
not one per health-check interval.

Ejection is part of the ``retries`` defence — it is how a retrying client
remembers which instance just failed (Ribbon's per-server "circuit tripped").
With retries off the pool keeps sending its share of calls to a dead instance,
so an instance kill shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from targets.common.config import Upstream
from targets.common.metrics import Sample


@dataclass
class Member:
    upstream: Upstream
    failures: int = 0
    ejected_until: float = 0.0
    on_trial: bool = False

    @property
    def id(self) -> str:
        return self.upstream.instance

    @property
    def url(self) -> str:
        return self.upstream.url


class NoInstanceError(Exception):
    """The dependency has no instance at all (nothing was configured)."""


class UpstreamPool:
    """Instances of one dependency; ``pick`` one, then report how the call went."""

    def __init__(self, name: str, upstreams: Iterable[Upstream], *, eject_after: int = 3,
                 eject_for: float = 2.0, ejection: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.members = [Member(u) for u in upstreams]
        self.eject_after = eject_after
        self.eject_for = eject_for
        self.ejection = ejection
        self.ejections = 0
        self._clock = clock
        self._next = 0

    def available(self) -> list[Member]:
        """Members in rotation: not ejected, or whose ejection has run out (on trial)."""
        now = self._clock()
        ready = []
        for member in self.members:
            if member.ejected_until and now >= member.ejected_until:
                member.ejected_until, member.on_trial = 0.0, True
            if not member.ejected_until:
                ready.append(member)
        return ready

    def pick(self, avoid: Iterable[str] = ()) -> Member:
        """The next member round-robin, preferring ones not in ``avoid`` (already tried).

        When every member is ejected the pool still answers with one: a request
        that may fail beats a request refused by the client's own bookkeeping.
        """
        if not self.members:
            raise NoInstanceError(f"no instance of {self.name} is configured")
        avoid = set(avoid)
        candidates = self.available() or list(self.members)
        fresh = [m for m in candidates if m.id not in avoid] or candidates
        self._next = (self._next + 1) % len(fresh)
        return fresh[self._next]

    def succeeded(self, member: Member) -> None:
        member.failures, member.on_trial = 0, False

    def failed(self, member: Member) -> None:
        member.failures += 1
        if not self.ejection:
            return
        if member.on_trial or member.failures >= self.eject_after:
            member.ejected_until = self._clock() + self.eject_for
            member.on_trial = False
            self.ejections += 1

    def samples(self) -> list[Sample]:
        labels = {"upstream": self.name}
        return [("pool_available_instances", labels, float(len(self.available()))),
                ("pool_instances", labels, float(len(self.members)))]
