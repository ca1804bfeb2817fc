"""The monkey's loop: wait for each planned kill, decide, act, log. No I/O of its own.

What it stands on is handed in: a clock (real, compressed or simulated), the
kill log, and an :class:`Actuator` that reads the outage check and kills
(a session on a platform, or a fake in the unit tests), so the decisions a
simulated year makes are the ones a real monkey makes.

Order of the checks, for each planned kill (Chaos Monkey 2's ``term.Terminate``):
every instance of the group an exception → skipped (exception); an outage-check
probe failing → skipped (outage); the group killed since ``no_kills_since`` →
skipped (min_gap); leashed → skipped (leashed: decided and logged, nothing
killed); else the kill, and a kill that fails → skipped (error).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from chaoskit.errors import ChaoskitError
from chaoskit.monkey.calendar import Calendar
from chaoskit.monkey.clock import Clock
from chaoskit.monkey.config import MonkeyConfig
from chaoskit.monkey.killlog import KILLED, SKIPPED, Decision, KillLog
from chaoskit.monkey.schedule import PlannedKill, upcoming


class Actuator(Protocol):
    async def outage(self) -> str | None:
        """Why there is an outage now (a failing probe), or None."""
        ...

    async def kill(self, planned: PlannedKill) -> tuple[str, ...]:
        """Kill the planned target; return what was hit. Raises ChaoskitError."""
        ...


class Monkey:
    """Decides and logs every planned kill from the clock's now on."""

    def __init__(self, config: MonkeyConfig, *, seed: int, clock: Clock, log: KillLog,
                 actuator: Actuator, run: str = "",
                 say: Callable[[str], None] | None = None,
                 on_day_end: Callable[[dt.date], Awaitable[None]] | None = None) -> None:
        self.config = config
        self.seed = seed
        self.clock = clock
        self.log = log
        self.actuator = actuator
        self.run = run
        self.say = say or (lambda line: None)
        self.calendar = Calendar(config.schedule)
        self.next_kill: float | None = None
        self.decisions: list[Decision] = []
        """This process's decisions, in order."""
        self.on_day_end = on_day_end
        """Called with a day once the monkey has decided its last kill (the daily report)."""
        self._day: dt.date | None = None

    @property
    def name(self) -> str:
        """The monkey's name in the kill log (its title)."""
        return self.config.title

    async def run_until(self, until: float | None = None) -> None:
        """Decide each planned kill due after now, until ``until`` (forever if None)."""
        for planned in upcoming(self.config, self.seed, self.clock.now()):
            if until is not None and planned.timestamp > until:
                self.next_kill = planned.timestamp
                await self.clock.sleep_until(until)
                return
            key = planned.time.isoformat()
            if self.log.decided(self.name, planned.group, key):
                continue  # decided before a restart
            self.next_kill = planned.timestamp
            await self.clock.sleep_until(planned.timestamp)
            day = planned.time.date()
            if self._day is not None and day != self._day and self.on_day_end is not None:
                await self.on_day_end(self._day)
            self._day = day
            await self.decide(planned)

    async def decide(self, planned: PlannedKill) -> Decision:
        now = self.clock.now()
        reason: str | None = None
        detail = ""
        targets: tuple[str, ...] = ()
        if planned.target is None:
            reason, detail = "exception", "every instance of the group is an exception"
        elif (problem := await self.actuator.outage()) is not None:
            reason, detail = "outage", problem
        elif (last := self.log.last_kill(self.name, planned.group,
                                         count_leashed=self.config.leashed)) is not None \
                and last >= self.calendar.no_kills_since(now):
            reason = "min_gap"
            detail = (f"last kill {self._iso(last)}, none allowed since "
                      f"{self._iso(self.calendar.no_kills_since(now))}")
        elif self.config.leashed:
            reason, detail = "leashed", f"would kill {planned.target}"
        else:
            try:
                targets = await self.actuator.kill(planned)
            except ChaoskitError as error:
                reason, detail = "error", str(error)
        decision = Decision(
            monkey=self.name, group=planned.group, planned=planned.time.isoformat(),
            decided_at=now, wall_time=time.time(),
            target=",".join(targets) if targets else planned.target,
            decision=SKIPPED if reason else KILLED, reason=reason, detail=detail, run=self.run)
        self.log.record(decision)
        self.decisions.append(decision)
        self.say(decision.line)
        return decision

    def _iso(self, timestamp: float) -> str:
        return dt.datetime.fromtimestamp(timestamp, self.calendar.tz).isoformat(
            timespec="seconds")
