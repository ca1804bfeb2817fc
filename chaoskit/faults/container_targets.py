"""Shared by the container_* faults: choosing a user's labelled containers, seeded."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from chaoskit.errors import FaultError
from chaoskit.faults.base import Injection
from chaoskit.model.faults import ContainerFault
from chaoskit.platform.labelled import LabelledContainers, Target


def describe_selection(spec: ContainerFault, default_all: bool) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(spec.labels.items()))
    if spec.percent is not None:
        amount = f"{spec.percent:g}%"
    elif spec.count is not None:
        amount = str(spec.count)
    else:
        amount = "all" if default_all else "1"
    dry = " (dry run)" if spec.dry_run else ""
    return f"{amount} of containers {labels}{dry}"


async def choose_containers(spec: ContainerFault, rng: random.Random, *, default_all: bool
                            ) -> tuple[LabelledContainers, list[Target]]:
    """The engine and the containers this injection hits, in name order."""
    engine = LabelledContainers(spec.engine or "")
    candidates = await engine.select_async(spec.labels)
    if not candidates:
        engine.close()
        raise FaultError(f"no running container labelled chaoskit.enable=true and "
                         f"{dict(spec.labels)} on engine {spec.engine or 'default'}")
    if spec.percent is not None:
        wanted = math.ceil(len(candidates) * spec.percent / 100)
    elif spec.count is not None:
        wanted = spec.count
    else:
        wanted = len(candidates) if default_all else 1
    chosen = rng.sample(candidates, min(wanted, len(candidates)))
    return engine, sorted(chosen, key=lambda t: t.name)


def preview(spec: ContainerFault) -> list[str]:
    """Every candidate container (``chaoskit run --dry-run``); reads, changes nothing."""
    engine = LabelledContainers(spec.engine or "")
    try:
        return [t.describe() for t in engine.select(spec.labels)]
    finally:
        engine.close()


@dataclass(frozen=True)
class Hit:
    """An injection's handle: the engine it used and the containers it hit."""

    engine: LabelledContainers
    targets: tuple[Target, ...]


def hit_of(injection: Injection) -> Hit | None:
    """The handle of an injection, or None for a dry run (nothing to revert)."""
    return injection.handle if isinstance(injection.handle, Hit) else None


async def start_again(injection: Injection) -> None:
    """Revert a kill or a stop: start whichever chosen container is down, then let go
    of the engine connection."""
    hit = hit_of(injection)
    if hit is None:
        return
    try:
        await hit.engine.start(hit.targets)
    finally:
        hit.engine.close()
