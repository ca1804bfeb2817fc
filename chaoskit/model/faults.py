"""Fault specifications: what to inject, where, and for how long.

Each spec is pure data; its behaviour lives in ``chaoskit.faults.<kind>``.
Every spec shares ``after`` (offset from the start of INJECT) and
``duration`` (how long it stays before the runner reverts it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from chaoskit.model.base import Model
from chaoskit.model.duration import Duration


class FaultBase(Model):
    after: Duration = 0.0
    duration: Duration = 10.0
    label: str | None = None
    """Shown on the report's timeline; defaults to a description of the fault."""


class InstanceKill(FaultBase):
    """Chaos Monkey: SIGKILL ``count`` (or ``percent``) of the selected instances."""

    fault: Literal["instance_kill"]
    service: str | None = None
    zone: str | None = None
    region: str | None = None
    count: int | None = Field(default=None, ge=1)
    percent: float | None = Field(default=None, gt=0, le=100)

    @model_validator(mode="after")
    def _amount(self) -> InstanceKill:
        if self.count is not None and self.percent is not None:
            raise ValueError("use either count or percent, not both")
        return self


class ZoneOutage(FaultBase):
    """Chaos Gorilla: every instance of one zone is lost."""

    fault: Literal["zone_outage"]
    zone: str
    mode: Literal["terminate", "isolate"] = "terminate"


class RegionOutage(FaultBase):
    """Chaos Kong: a whole region is lost, or evacuated gradually."""

    fault: Literal["region_outage"]
    region: str
    mode: Literal["terminate", "isolate", "evacuate"] = "terminate"


class Pause(FaultBase):
    """SIGSTOP (or docker pause) the selected instances: they hang, sockets stay open."""

    fault: Literal["pause"]
    service: str | None = None
    zone: str | None = None
    region: str | None = None
    count: int | None = Field(default=None, ge=1)


FaultSpec = Annotated[
    InstanceKill | ZoneOutage | RegionOutage | Pause,
    Field(discriminator="fault"),
]
