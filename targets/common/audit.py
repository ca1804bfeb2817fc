"""The payments invariants, audited from the side that acknowledged the payments.

Two promises: *no double charge* (payments' own ``/audit`` counts keys charged
more than once in its ledger) and *no acknowledged payment lost* (every key a
client was told "paid" is in some ledger). The second can only be checked by
whoever gave the acknowledgement, so gateways journal each acknowledged key and
their ``/audit`` looks the keys up in every payments instance they reach.

The answer is what chaoskit's invariant probe reads (``violations`` field)::

    {"violations": lost + duplicate_charges, "acknowledged": N, "lost": N,
     "unverified": N, "duplicate_charges": N, "charges": N, "keys": N,
     "payments_unreachable": N, "payments": {instance: {...its /audit...}}}

``unverified`` keys could not be checked because a payments instance did not
answer; they are not counted as lost (an unreachable ledger is not a lost one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp

LEDGER_FIELDS = ("duplicate_charges", "charges", "keys")


async def payments_audit(session: aiohttp.ClientSession, urls: Iterable[str],
                         keys: list[str]) -> dict[str, Any]:
    urls = list(urls)
    answers = await asyncio.gather(*(_ask(session, url, keys) for url in urls))
    ledgers = {a["instance"]: a for a in answers if a is not None}
    found: set[str] = set()
    for ledger in ledgers.values():
        found.update(ledger.get("found", ()))
    missing = [k for k in keys if k not in found]
    complete = len(ledgers) == len(urls)
    return summarize(len(keys), len(missing) if complete else 0,
                     0 if complete else len(missing), len(urls) - len(ledgers),
                     {name: {f: int(ledger.get(f, 0)) for f in LEDGER_FIELDS}
                      for name, ledger in ledgers.items()})


def summarize(acknowledged: int, lost: int, unverified: int, unreachable: int,
              payments: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """The audit JSON; per-ledger figures are summed once per payments instance."""
    totals = {f: sum(p.get(f, 0) for p in payments.values()) for f in LEDGER_FIELDS}
    return {"violations": lost + totals["duplicate_charges"], "acknowledged": acknowledged,
            "lost": lost, "unverified": unverified, **totals,
            "payments_unreachable": unreachable, "payments": dict(payments)}


async def _ask(session: aiohttp.ClientSession, url: str,
               keys: list[str]) -> dict[str, Any] | None:
    try:
        async with asyncio.timeout(5):
            async with session.get(f"{url}/audit") as response:
                response.raise_for_status()
                ledger: dict[str, Any] = await response.json()
            async with session.post(f"{url}/charges/lookup", json={"keys": keys}) as response:
                ledger["found"] = (await response.json())["found"]
        return ledger
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError):
        return None
