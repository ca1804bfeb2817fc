"""Applying the method's faults on their schedule, and reverting them — exactly once each.

Every step is recorded when it is called and when it is in effect, so the
time a fault takes to actuate is measured, not assumed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from chaoskit.context import RunContext
from chaoskit.errors import ChaoskitError, FaultError
from chaoskit.faults import build
from chaoskit.faults.base import Fault, Injection
from chaoskit.model.faults import FaultBase
from chaoskit.model.history import FaultEvent, FaultStep

ACTUATION_TIMEOUT = 90.0
"""No inject or revert may take longer than this (the platform waits for health)."""


@dataclass(frozen=True)
class ScheduledFault:
    id: str
    spec: FaultBase
    fault: Fault

    @property
    def label(self) -> str:
        return self.spec.label or self.fault.describe()

    @property
    def kind(self) -> str:
        return str(getattr(self.spec, "fault", type(self.spec).__name__))


@dataclass(frozen=True)
class ActiveFault:
    scheduled: ScheduledFault
    injection: Injection
    effective_at: float


BeforeRevert = Callable[[ActiveFault], Awaitable[None]]


def plan_fault(number: int, spec: FaultBase) -> ScheduledFault:
    """The fault for ``spec``, known in the history as ``f<number>`` (its place in the plan)."""
    return ScheduledFault(f"f{number}", spec, build(spec))


class FaultSchedule:
    """The method's faults, their timeline, and the set of those currently injected."""

    def __init__(self, ctx: RunContext, faults: Sequence[ScheduledFault]) -> None:
        self.ctx = ctx
        self.faults = list(faults)
        """The method's faults, run on their offsets by :meth:`run`; others are injected
        when a test says so."""
        self.active: dict[str, ActiveFault] = {}
        self.end = max((f.spec.after + f.spec.duration for f in self.faults), default=0.0)

    @property
    def first_revert_called(self) -> float | None:
        """When the first revert was called: time-to-recover counts from there."""
        calls = [e.t for e in self.ctx.history.of_type(FaultEvent)
                 if e.step == FaultStep.REVERT_CALLED]
        return min(calls, default=None)

    @property
    def last_revert_effective(self) -> float | None:
        """When the last revert took effect: the system is back in its own configuration."""
        done = [e.t for e in self.ctx.history.of_type(FaultEvent)
                if e.step == FaultStep.REVERT_EFFECTIVE]
        return max(done, default=None)

    async def run(self, before_revert: BeforeRevert) -> None:
        """Inject each fault at its offset; revert those that end before the last one.

        The faults still active when the schedule ends are left for the REVERT
        phase, so "during" readings of the final fault precede the revert.
        """
        start = time.time()
        await asyncio.gather(*(self._one(f, start, before_revert) for f in self.faults))

    async def _one(self, scheduled: ScheduledFault, start: float, before: BeforeRevert) -> None:
        await _sleep_until(start + scheduled.spec.after)
        await self.inject(scheduled)
        ends = start + scheduled.spec.after + scheduled.spec.duration
        await _sleep_until(ends)
        if scheduled.spec.after + scheduled.spec.duration < self.end:
            active = self.active.get(scheduled.id)
            if active is not None:
                await before(active)
            await self.revert(scheduled.id)

    async def inject(self, scheduled: ScheduledFault) -> None:
        self._record(scheduled, FaultStep.INJECT_CALLED)
        try:
            async with asyncio.timeout(ACTUATION_TIMEOUT):
                injection = await scheduled.fault.inject(self.ctx)
        except (ChaoskitError, TimeoutError, OSError) as error:
            self._record(scheduled, FaultStep.INJECT_FAILED, detail=_why(error))
            raise FaultError(f"{scheduled.label}: could not inject: {_why(error)}") from error
        self.active[scheduled.id] = ActiveFault(scheduled, injection, time.time())
        self._record(scheduled, FaultStep.INJECT_EFFECTIVE, injection.targets, injection.detail)

    async def revert(self, fault_id: str) -> None:
        """Revert one fault if it is still active. Failures are recorded, never raised."""
        active = self.active.pop(fault_id, None)
        if active is None:
            return
        scheduled, injection = active.scheduled, active.injection
        self._record(scheduled, FaultStep.REVERT_CALLED, injection.targets)
        try:
            async with asyncio.timeout(ACTUATION_TIMEOUT):
                await scheduled.fault.revert(self.ctx, injection)
        except (ChaoskitError, TimeoutError, OSError) as error:
            self._record(scheduled, FaultStep.REVERT_FAILED, injection.targets, _why(error))
            return
        self._record(scheduled, FaultStep.REVERT_EFFECTIVE, injection.targets)

    async def revert_all(self) -> None:
        """Revert every active fault, the most recent first."""
        for fault_id in reversed(list(self.active)):
            await self.revert(fault_id)

    def _record(
        self, scheduled: ScheduledFault, step: FaultStep, targets: tuple[str, ...] = (),
        detail: str = "",
    ) -> None:
        self.ctx.record(FaultEvent(fault=scheduled.id, kind=scheduled.kind, step=step,
                                   label=scheduled.label, targets=targets, detail=detail))


async def _sleep_until(deadline: float) -> None:
    delay = deadline - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


def _why(error: BaseException) -> str:
    return str(error) or type(error).__name__
