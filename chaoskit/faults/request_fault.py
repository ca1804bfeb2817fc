"""Netflix FIT: request-level faults for the experiment cohort, in the callers' RPC clients.

chaoskit does not break anything itself here: it sets a rule ("calls to
ratings fail for the experiment cohort", "... wait 300 ms") on every
instance that calls the dependency, through the ``/admin/fit`` endpoint the
bundled services offer (``targets/common/fit.py``), and clears it on revert.
The inject returns once every caller has confirmed the rule is in force.

Nothing needs recording for ``chaoskit rollback``: the rules live in the
instances' memory, and a dead runner's instances are killed by rollback. A
rule also carries a time to live (the fault's duration plus :data:`TTL_MARGIN`),
so even a system chaoskit did not start is not left faulted for long.
A caller that restarts while the fault is in force comes back without the
rule (it is memory, not configuration): its cohort's calls are healthy again,
which the comparison shows rather than hides. The callers must be up when the
fault is injected: one that does not take the rule fails the injection, and
the rule is cleared from those that did.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import httpx

from chaoskit.context import RunContext
from chaoskit.errors import FaultError
from chaoskit.faults.base import Injection
from chaoskit.httpclient import http_client
from chaoskit.model.faults import RequestFault
from chaoskit.model.topology import Instance

TTL_MARGIN = 60.0
"""Seconds a rule outlives the fault's planned end before it expires by itself."""
TIMEOUT = 5.0


@dataclass(frozen=True)
class Rules:
    """The injection's handle: the rule's id and the callers' admin URLs it was set on."""

    rule_id: str
    urls: tuple[str, ...]


class RequestFaultFault:
    """Set one FIT rule on every caller of the dependency; clear it on revert."""

    def __init__(self, spec: RequestFault) -> None:
        self.spec = spec

    def describe(self) -> str:
        what = " and ".join(
            part for part in ("fail" if self.spec.error else "",
                              f"wait {self.spec.delay * 1000:g}ms" if self.spec.delay else "")
            if part)
        by = f" by {self.spec.caller}" if self.spec.caller else ""
        return f"calls to {self.spec.dependency}{by} {what} ({self.spec.cohort} cohort)"

    def callers(self, ctx: RunContext) -> list[Instance]:
        """The instances whose RPC client calls the dependency."""
        topology = ctx.experiment.topology
        if topology is None:
            raise FaultError("request_fault needs a topology: the callers of "
                             f"{self.spec.dependency} are found from its depends_on")
        services = set(self.spec.callers(topology))
        if not services:
            by = f" {self.spec.caller}" if self.spec.caller else ""
            raise FaultError(f"no service{by} depends on {self.spec.dependency}: "
                             "nothing calls it to fault")
        return [i for i in ctx.instances if i.service in services]

    async def inject(self, ctx: RunContext) -> Injection:
        callers = self.callers(ctx)
        rule_id = f"chaoskit-{uuid.uuid4().hex[:12]}"
        urls = tuple(f"http://{ctx.launch(i.id).address}/admin/fit/{rule_id}" for i in callers)
        body: dict[str, object] = {
            "dependency": self.spec.dependency, "cohort": self.spec.cohort,
            "error": self.spec.error, "delay_ms": (self.spec.delay or 0) * 1000,
            "ttl_s": self.spec.duration + TTL_MARGIN}
        async with http_client(timeout=TIMEOUT) as client:
            results = await asyncio.gather(*(_set(client, url, body) for url in urls),
                                           return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                # Not injected, so the runner will not revert it: clear what was set.
                await asyncio.gather(*(_clear(client, url) for url in urls),
                                     return_exceptions=True)
                raise failed[0]
        return Injection(targets=tuple(i.id for i in callers),
                         detail=f"rule {rule_id} on {len(urls)} caller(s)",
                         handle=Rules(rule_id, urls))

    async def revert(self, ctx: RunContext, injection: Injection) -> None:
        handle = injection.handle
        if not isinstance(handle, Rules):
            raise FaultError("request_fault revert needs the handle of its injection")
        async with http_client(timeout=TIMEOUT) as client:
            results = await asyncio.gather(*(_clear(client, url) for url in handle.urls),
                                           return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]


async def _set(client: httpx.AsyncClient, url: str, body: dict[str, object]) -> None:
    try:
        response = await client.put(url, json=body)
    except httpx.HTTPError as error:
        raise FaultError(f"could not set the fault rule at {url}: {error!r}") from error
    if response.status_code != 200:
        raise FaultError(f"{url} refused the fault rule: {response.status_code} "
                         f"{response.text[:200]} (is it a bundled service with /admin/fit?)")


async def _clear(client: httpx.AsyncClient, url: str) -> None:
    try:
        response = await client.delete(url)
    except httpx.ConnectError:
        return  # the instance is gone (killed by another fault): its rules went with it
    except httpx.HTTPError as error:
        raise FaultError(f"could not clear the fault rule at {url}: {error!r}") from error
    if response.status_code != 200:
        raise FaultError(f"{url} did not clear the fault rule: {response.status_code} "
                         f"{response.text[:200]}")
