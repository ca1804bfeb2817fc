"""Failure Injection Testing (Netflix FIT): request-level faults for one cohort, in the caller.

ChAP runs a control and an experiment cohort inside one deployment: the edge
(here, the load) marks a small share of requests per cohort with a header
(``X-Chaoskit-Cohort: control|experiment``, ``CHAOSKIT_COHORT_HEADER`` to rename
it), every service passes the header on (``targets.common.web.forwarded``), and
a fault is injected for the experiment cohort only, in the caller's RPC client
(:class:`~targets.common.client.UpstreamClient`): "calls to dependency D fail"
or "are delayed by N ms". Everything else — the instances, the links, the
other cohort, untagged traffic — is untouched.

Rules are set and cleared over ``/admin/fit`` on every service, answered only
to loopback callers (chaoskit runs beside the system; nobody else may break it):

- ``PUT /admin/fit/{id}`` ``{"dependency": "ratings", "cohort": "experiment",
  "error": true, "delay_ms": 0, "ttl_s": 80}`` sets (or replaces) rule ``id``;
- ``DELETE /admin/fit/{id}`` clears it (``DELETE /admin/fit`` clears all);
- ``GET /admin/fit`` lists the rules in force.

A rule expires by itself ``ttl_s`` after it was set: a runner that dies
without reverting (its instances then die with it; an attached system does
not) leaves nothing broken for longer than that.

The shared circuit breaker, and why each cohort has its own
    A breaker per dependency is shared by every request of the instance. If
    the experiment cohort's injected failures counted in it, they would open
    it for the control cohort and the untagged traffic too: the fault would
    leak out of its cohort, and the comparison would measure two broken
    groups. Keeping injected failures out of the breaker's counts instead
    would leave the breaker (a defence under test) never tripping for the
    experiment cohort. So the client gives each cohort a breaker of its own,
    with the shared one's settings, over its own share of the calls: the
    experiment cohort's breaker opens on its own faults, exactly as the shared
    one would, and the control cohort's stays a fair comparison (same size,
    same traffic, no fault). Requests a rule touched also stay out of the
    shared pool's passive ejection (an injected failure says nothing about
    the instance). They still draw on the shared retry budget: at a 5 % share
    that is a few tokens a second.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from ipaddress import ip_address

import aiohttp
from aiohttp import web

COHORT_HEADER = "X-Chaoskit-Cohort"
COHORT_HEADER_ENV = "CHAOSKIT_COHORT_HEADER"
COHORTS = ("control", "experiment")
"""The cohort header's meaningful values; any other value is treated as untagged."""
MAX_DELAY_MS = 60_000
MAX_TTL_S = 24 * 3600


class InjectedFailure(aiohttp.ClientConnectionError):
    """A FIT rule's "calls fail": to the caller's defences it is a failed connection."""


@dataclass(frozen=True)
class Rule:
    """One request-level fault: calls to ``dependency`` by ``cohort`` fail and/or wait."""

    id: str
    dependency: str
    cohort: str
    error: bool
    delay_ms: float
    expires_at: float
    """On the rules' clock (monotonic)."""

    @classmethod
    def parse(cls, rule_id: str, data: object, now: float) -> Rule:
        """A rule from an admin request's JSON body; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = set(data) - {"dependency", "cohort", "error", "delay_ms", "ttl_s"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        dependency, cohort = data.get("dependency"), data.get("cohort", "experiment")
        error, delay, ttl = data.get("error", False), data.get("delay_ms", 0), data.get("ttl_s")
        if not isinstance(dependency, str) or not dependency:
            raise ValueError("dependency: expected a service name")
        if cohort not in COHORTS:
            raise ValueError(f"cohort: expected one of {list(COHORTS)}")
        if not isinstance(error, bool):
            raise ValueError("error: expected true or false")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not (
                0 <= delay <= MAX_DELAY_MS):
            raise ValueError(f"delay_ms: expected a number of milliseconds in [0, {MAX_DELAY_MS}]")
        if not error and not delay:
            raise ValueError("a rule must fail calls (error: true) or delay them (delay_ms > 0)")
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= MAX_TTL_S:
            raise ValueError(f"ttl_s: expected seconds in (0, {MAX_TTL_S}]: "
                             "a rule must expire by itself")
        return cls(rule_id, dependency, cohort, error, float(delay), now + float(ttl))


@dataclass(frozen=True)
class Effect:
    """What the rules in force do to one call: wait ``delay`` seconds, then maybe fail."""

    delay: float
    error: bool


class FitRules:
    """The rules in force in one service instance. Single event loop: no locking."""

    def __init__(self, header: str = COHORT_HEADER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.header = header
        self._clock = clock
        self._rules: dict[str, Rule] = {}
        self.injected: dict[tuple[str, str, str], int] = {}
        """``(dependency, cohort, kind)`` → calls a rule failed or delayed."""

    def cohort_of(self, headers: Mapping[str, str] | None) -> str | None:
        """The request's cohort from its headers, None when untagged (or not a cohort)."""
        if not headers:
            return None
        value = next((v for k, v in headers.items() if k.lower() == self.header.lower()), None)
        return value if value in COHORTS else None

    def set(self, rule: Rule) -> None:
        self._rules[rule.id] = rule

    def clear(self, rule_id: str | None = None) -> int:
        """Remove rule ``rule_id`` (every rule when None); how many were removed."""
        if rule_id is None:
            removed = len(self._rules)
            self._rules.clear()
            return removed
        return 1 if self._rules.pop(rule_id, None) is not None else 0

    def rules(self) -> list[Rule]:
        """The rules in force now (expired ones are dropped here)."""
        now = self._clock()
        for rule_id in [r.id for r in self._rules.values() if r.expires_at <= now]:
            del self._rules[rule_id]
        return sorted(self._rules.values(), key=lambda r: r.id)

    def effect(self, dependency: str, cohort: str | None) -> Effect | None:
        """What the rules do to a call to ``dependency`` for ``cohort``; None: nothing.

        Several matching rules add up: the delays are summed, and any error fails the call.
        """
        if cohort is None or not self._rules:
            return None
        matching = [r for r in self.rules() if r.dependency == dependency and r.cohort == cohort]
        if not matching:
            return None
        effect = Effect(delay=sum(r.delay_ms for r in matching) / 1000,
                        error=any(r.error for r in matching))
        for kind, hit in (("delay", effect.delay > 0), ("error", effect.error)):
            if hit:
                key = (dependency, cohort, kind)
                self.injected[key] = self.injected.get(key, 0) + 1
        return effect

    def counters(self) -> list[tuple[str, dict[str, str], float]]:
        return [("fit_injected_total", {"upstream": d, "cohort": c, "kind": k}, float(n))
                for (d, c, k), n in sorted(self.injected.items())]

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        return [("fit_rules", {}, float(len(self.rules())))]

    def state(self) -> list[dict[str, object]]:
        now = self._clock()
        return [{**{k: v for k, v in asdict(r).items() if k != "expires_at"},
                 "expires_in_s": round(r.expires_at - now, 3)} for r in self.rules()]

    def routes(self) -> list[web.RouteDef]:
        """The ``/admin/fit`` endpoints serving these rules."""

        async def listing(request: web.Request) -> web.Response:
            return _loopback_only(request) or web.json_response({"rules": self.state()})

        async def put(request: web.Request) -> web.Response:
            refused = _loopback_only(request)
            if refused is not None:
                return refused
            try:
                rule = Rule.parse(request.match_info["id"], json.loads(await request.read()),
                                  self._clock())
            except ValueError as error:  # json.JSONDecodeError is a ValueError
                return web.json_response({"error": str(error)}, status=400)
            self.set(rule)
            return web.json_response({"rules": self.state()})

        async def delete(request: web.Request) -> web.Response:
            refused = _loopback_only(request)
            if refused is not None:
                return refused
            removed = self.clear(request.match_info.get("id"))
            return web.json_response({"removed": removed, "rules": self.state()})

        return [web.get("/admin/fit", listing), web.put("/admin/fit/{id}", put),
                web.delete("/admin/fit/{id}", delete), web.delete("/admin/fit", delete)]


def _loopback_only(request: web.Request) -> web.Response | None:
    """A 403 for a caller not on this machine's loopback; None for one that is."""
    try:
        local = request.remote is not None and ip_address(request.remote).is_loopback
    except ValueError:
        local = False
    if local:
        return None
    return web.json_response({"error": "fault rules are set from loopback only"}, status=403)
