"""The kill schedule: a pure function of (config, seed, calendar).

Chaos Monkey 2's algorithm (``schedule/schedule.go``): on each work day, for
each group, flip a coin that comes up "kill" with probability
``1 / mean_time_between_kills`` (in work days); on a kill, pick a time
uniformly in the day's window. Chaos Monkey 2 picks the instance when the
kill is due; chaoskit picks it here (among the group's instances that are not
exceptions), so the whole plan — time, group, target — can be printed and
tested ahead. Each (seed, day, group) has its own random stream, so a day's
kills do not depend on which day a plan starts from.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from chaoskit.model.topology import Instance, plan_instances
from chaoskit.monkey.calendar import Calendar
from chaoskit.monkey.config import ContainerGroup, MonkeyConfig


@dataclass(frozen=True)
class Group:
    """What one coin is flipped for: a service (or service and zone or region), or a container
    selection. ``candidates`` are the instances it may kill (exceptions removed)."""

    name: str
    candidates: tuple[str, ...] = ()
    excepted: tuple[str, ...] = ()
    containers: ContainerGroup | None = None

    @property
    def target(self) -> str | None:
        """What a kill of a container group names: its selection, chosen among at kill time."""
        return self.name if self.containers is not None else None


@dataclass(frozen=True)
class PlannedKill:
    """One entry of the schedule."""

    time: dt.datetime
    """Aware, in the monkey's time zone."""
    group: str
    target: str | None
    """The instance (or container selection) to kill; None when every instance of the
    group is an exception (the kill is logged as skipped: exception)."""

    @property
    def timestamp(self) -> float:
        return self.time.timestamp()

    def as_json(self) -> dict[str, str | None]:
        return {"time": self.time.isoformat(), "group": self.group, "target": self.target}


def groups_of(config: MonkeyConfig) -> list[Group]:
    """The groups, in a stable order."""
    if config.containers:
        return [Group(name=c.group_name, containers=c) for c in config.containers]
    assert config.topology is not None
    grouping = config.schedule.grouping
    exceptions = config.schedule.exceptions
    members: dict[str, list[Instance]] = {}
    for instance in plan_instances(config.topology):
        key = instance.service if grouping == "service" else \
            f"{instance.service}@{getattr(instance, grouping)}"
        members.setdefault(key, []).append(instance)
    groups = []
    for name in sorted(members):
        hit = [i.id for i in members[name] if not any(e.matches(i) for e in exceptions)]
        out = [i.id for i in members[name] if any(e.matches(i) for e in exceptions)]
        groups.append(Group(name=name, candidates=tuple(sorted(hit)), excepted=tuple(sorted(out))))
    return groups


def kills_on(config: MonkeyConfig, seed: int, day: dt.date, *,
             calendar: Calendar | None = None, groups: list[Group] | None = None
             ) -> list[PlannedKill]:
    """The kills planned for one day (none on a day that is not a work day)."""
    calendar = calendar or Calendar(config.schedule)
    if not calendar.is_workday(day):
        return []
    groups = groups if groups is not None else groups_of(config)
    start, end = calendar.window(day)
    seconds = int((end - start).total_seconds())
    probability = 1.0 / config.schedule.mean_time_between_kills
    planned = []
    for group in groups:
        rng = random.Random(f"chaoskit-monkey/{seed}/{day.isoformat()}/{group.name}")
        if not probability >= rng.random():  # Chaos Monkey 2: kill when pkill >= sample
            continue
        when = start + dt.timedelta(seconds=rng.randrange(seconds))
        if group.containers is not None:
            target: str | None = group.target
        else:
            target = rng.choice(group.candidates) if group.candidates else None
        planned.append(PlannedKill(time=when, group=group.name, target=target))
    return sorted(planned, key=lambda p: (p.time, p.group))


def plan(config: MonkeyConfig, seed: int, start: dt.date, days: int) -> list[PlannedKill]:
    """Every kill planned for ``days`` days from ``start`` (its first day included)."""
    calendar = Calendar(config.schedule)
    groups = groups_of(config)
    out: list[PlannedKill] = []
    for offset in range(days):
        out += kills_on(config, seed, start + dt.timedelta(days=offset),
                        calendar=calendar, groups=groups)
    return out


def upcoming(config: MonkeyConfig, seed: int, after: float) -> Iterator[PlannedKill]:
    """The planned kills strictly after ``after`` (a timestamp), in time order, forever."""
    calendar = Calendar(config.schedule)
    groups = groups_of(config)
    day = calendar.local(after).date()
    while True:
        for kill in kills_on(config, seed, day, calendar=calendar, groups=groups):
            if kill.timestamp > after:
                yield kill
        day += dt.timedelta(days=1)
