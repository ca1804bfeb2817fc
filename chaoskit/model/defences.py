"""Defences: the named resilience mechanisms a run may switch off (``--disable``).

A run with a defence disabled proves an experiment has teeth: the same faults
must then make it deviate. The bundled targets' six are listed here; a
topology declares its own (``defences:``, :class:`~chaoskit.model.topology.DefenceSpec`),
and a run may switch off either kind.
``targets/common/config.py`` keeps its own copy (the targets import nothing
from chaoskit); a unit test checks the two agree. Each defence is a
:class:`Defence` so that a topology can later declare its own in the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable

from chaoskit.model.base import Model


class Defence(Model):
    """One defence: the name ``--disable`` takes and what switching it off removes."""

    name: str
    description: str


BUNDLED_DEFENCES: tuple[Defence, ...] = (
    Defence(name="circuit_breaker",
            description="a breaker per upstream fails fast once it keeps failing"),
    Defence(name="retries",
            description="idempotent calls retried on another instance; failing ones ejected"),
    Defence(name="load_shedding",
            description="the gateway sheds low-priority requests when overloaded"),
    Defence(name="stale_fallback",
            description="recommendations serve stale, marked answers when ratings fails"),
    Defence(name="idempotency",
            description="payments dedupes retried charges by idempotency key"),
    Defence(name="failover",
            description="the edge fails over and evacuates users to a healthy region"),
)
"""The bundled targets' defences, in the order they are listed to users."""

DEFENCES: tuple[str, ...] = tuple(d.name for d in BUNDLED_DEFENCES)
"""Their names: what ``--disable`` and a GameDay step's ``disable`` may name."""


def unknown_defences(disabled: Iterable[str], declared: Iterable[str] = ()) -> str | None:
    """None when every name in ``disabled`` is a bundled defence or one of ``declared``
    (a topology's own); else the message saying which are not and what would be."""
    known = [*DEFENCES, *declared]
    unknown = sorted(set(disabled) - set(known))
    if not unknown:
        return None
    return (f"unknown defence {', '.join(map(repr, unknown))}; expected some of "
            f"{', '.join(known)}")


def describe_defences(defences: tuple[Defence, ...] = BUNDLED_DEFENCES) -> str:
    """``circuit_breaker (a breaker per upstream ...), retries (...)``: for help texts."""
    return "; ".join(f"{d.name} ({d.description})" for d in defences)
