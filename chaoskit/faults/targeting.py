"""Choosing instances for a fault: by selector, only those up, seeded."""

from __future__ import annotations

import math

from chaoskit.context import RunContext
from chaoskit.errors import FaultError
from chaoskit.model.topology import Instance, Selector
from chaoskit.platform.base import InstanceState


def up_instances(ctx: RunContext, selector: Selector) -> list[Instance]:
    """Selected instances that are up right now (a dead one cannot be killed again)."""
    up = {s.instance.id for s in ctx.platform.status() if s.state == InstanceState.UP}
    return [i for i in ctx.select(selector) if i.id in up]


def choose(
    ctx: RunContext, selector: Selector, *, count: int | None, percent: float | None
) -> list[Instance]:
    """``count`` (or ``percent``, rounded up; default one) of the selected instances that are up.

    The choice uses the run's seeded random generator, so a run replays exactly.
    """
    candidates = up_instances(ctx, selector)
    if not candidates:
        raise FaultError(f"no instance is up among {selector.describe()}")
    wanted = math.ceil(len(candidates) * percent / 100) if percent is not None else count or 1
    return ctx.rng.sample(candidates, min(wanted, len(candidates)))
