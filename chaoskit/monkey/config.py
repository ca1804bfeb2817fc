"""The monkey's file, as data: what it kills, when, and what stops it (pure, no I/O).

Chaos Monkey 2's settings (Netflix/chaosmonkey ``config/param``), in chaoskit's
words: the mean and minimum time between kills are counted in *work days* per
group; kills happen between ``hours.start`` and ``hours.end`` in
``hours.time_zone`` on ``days`` (and not on ``holidays``); ``leashed`` decides
and logs without killing (Chaos Monkey 2's default, kept here).
"""

from __future__ import annotations

import math
import zoneinfo
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from chaoskit.model.base import Model
from chaoskit.model.experiment import LoadSpec, SteadyStateProbe
from chaoskit.model.topology import Instance, Selector, Topology

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Index = ``date.weekday()``."""

_DAY_UNITS = {"d": 1.0, "h": 1 / 24, "m": 1 / 1440, "s": 1 / 86400}


def parse_days(value: object) -> float:
    """``2d``, ``36h`` or a number of days → days (a float)."""
    if isinstance(value, bool):
        raise ValueError("expected a number of days such as 2d")
    if isinstance(value, int | float):
        days = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        unit = text[-1] if text[-1] in _DAY_UNITS else "d"
        number = text[:-1] if text[-1] in _DAY_UNITS else text
        try:
            days = float(number) * _DAY_UNITS[unit]
        except ValueError:
            raise ValueError(f"expected a number of days such as 2d, got {value!r}") from None
    else:
        raise ValueError(f"expected a number of days such as 2d, got {value!r}")
    if days < 0 or not math.isfinite(days):
        raise ValueError("a time between kills cannot be negative")
    return days


Days = Annotated[float, BeforeValidator(parse_days)]
"""Work days as a float; ``2d`` (or ``48h``, or a number) in YAML."""


class Hours(Model):
    """The daily window kills fall in: ``[start, end)`` local time in ``time_zone``."""

    start: int = Field(default=9, ge=0, le=23)
    end: int = Field(default=15, ge=1, le=24)
    time_zone: str = "America/Los_Angeles"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as "
                             "America/Los_Angeles, Europe/Berlin or UTC)") from None
        return value

    @model_validator(mode="after")
    def _order(self) -> Hours:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class MonkeyException(Model):
    """Instances never hit: every field given must match (Chaos Monkey 2's exceptions)."""

    service: str | None = None
    zone: str | None = None
    region: str | None = None
    instance: str | None = None

    @model_validator(mode="after")
    def _something(self) -> MonkeyException:
        if not any((self.service, self.zone, self.region, self.instance)):
            raise ValueError("name a service, zone, region or instance")
        return self

    def matches(self, instance: Instance) -> bool:
        return Selector(service=self.service, zone=self.zone, region=self.region,
                        instance=self.instance).matches(instance)


class ScheduleSpec(Model):
    """When the monkey kills (per group)."""

    mean_time_between_kills: Days = 2.0
    """Work days; each work day a group is killed with probability 1/mean."""
    min_time_between_kills: Days = 1.0
    """Whole work days; a kill is skipped if the group was killed since the end of the
    window that many work days back (Chaos Monkey 2's ``noKillsSince``)."""
    grouping: Literal["service", "zone", "region"] = "service"
    """One group per service, per service and zone, or per service and region."""
    hours: Hours = Hours()
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = \
        ("mon", "tue", "wed", "thu", "fri")
    holidays: str | None = None
    """A country code of the ``holidays`` package (US, GB, DE…); optionally ``US-CA``
    for a subdivision. None: no holidays."""
    exceptions: tuple[MonkeyException, ...] = ()

    @field_validator("mean_time_between_kills")
    @classmethod
    def _mean(cls, value: float) -> float:
        if value < 1:
            raise ValueError("must be at least 1d: like Chaos Monkey 2, the monkey decides "
                             "at most one kill per group per work day (compress time with "
                             "--time-scale for demos)")
        return value

    @field_validator("min_time_between_kills")
    @classmethod
    def _min(cls, value: float) -> float:
        if value != int(value):
            raise ValueError("must be whole work days (0d, 1d, 2d…), as in Chaos Monkey 2")
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one day")
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        if value is None or value.lower() in ("none", ""):
            return None
        from chaoskit.monkey.holiday import country_holidays

        country_holidays(value)  # raises ValueError for an unknown country
        return value


class ContainerGroup(Model):
    """A user's own containers: those labelled ``chaoskit.enable=true`` and ``labels``."""

    labels: dict[str, str] = Field(min_length=1)
    engine: str | None = None
    mode: Literal["kill", "crash"] = "kill"
    """``kill``: through the engine, then started again; ``crash``: a host-side SIGKILL
    the container's own restart policy replaces."""
    name: str | None = None
    """The group's name in the schedule and log; by default its labels (``app=web``)."""

    @model_validator(mode="after")
    def _opted_in(self) -> ContainerGroup:
        if self.labels.get("chaoskit.enable", "true") != "true":
            raise ValueError("chaoskit.enable can only be 'true': the monkey never selects "
                             "containers that did not opt in")
        if not set(self.labels) - {"chaoskit.enable"}:
            raise ValueError("name at least one label besides chaoskit.enable "
                             "(e.g. labels: {app: web})")
        return self

    @property
    def group_name(self) -> str:
        return self.name or ",".join(f"{k}={v}" for k, v in sorted(self.labels.items())
                                     if k != "chaoskit.enable")


class OutageCheck(SteadyStateProbe):
    """A steady-state probe read before each kill: no kill while one fails."""

    name: str = ""

    @model_validator(mode="after")
    def _default_name(self) -> OutageCheck:
        if not self.name:
            object.__setattr__(self, "name", f"outage check {self.probe.probe}")
        return self


class MonkeyConfig(Model):
    """A monkey, as declared. Loaded from YAML (``load_monkey``) or built in Python."""

    title: str
    description: str = ""
    topology: Topology | None = None
    containers: tuple[ContainerGroup, ...] = ()
    schedule: ScheduleSpec = ScheduleSpec()
    leashed: bool = True
    """Decide and log, kill nothing. True by default, as in Chaos Monkey 2."""
    outage_check: tuple[OutageCheck, ...] = ()
    load: LoadSpec | None = None
    seed: int = 0
    kill_log: str | None = None
    """The SQLite kill log; by default ``monkey.sqlite3`` in the state dir."""
    source: str | None = Field(default=None, exclude=True)
    base_dir: str = Field(default=".", exclude=True)

    @field_validator("containers", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _targets(self) -> MonkeyConfig:
        if (self.topology is None) == (not self.containers):
            raise ValueError("give either topology (a system chaoskit starts) or containers "
                             "(your own labelled containers), not both or neither")
        if self.containers and self.schedule.exceptions:
            raise ValueError("schedule.exceptions are for a topology; a container opts out by "
                             "not carrying chaoskit.enable=true or not matching the labels")
        if self.containers and self.schedule.grouping != "service":
            raise ValueError("containers are grouped by their labels (one group per entry of "
                             "containers); leave schedule.grouping at service")
        if self.topology is None and self.load is not None and not self.load.host:
            raise ValueError("load.host is required with containers (no entry point)")
        names = [c.group_name for c in self.containers]
        if len(set(names)) != len(names):
            raise ValueError("two container groups have the same name; give each a name")
        return self

    @property
    def slug(self) -> str:
        import re

        base = self.source.rsplit("/", 1)[-1].rsplit(".", 1)[0] if self.source else self.title
        return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:60] or "monkey"
