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


class ContainerFault(FaultBase):
    """Pumba style: a user's own running containers, chosen by label on a Docker engine.

    Only containers labelled ``chaoskit.enable=true`` are ever candidates; that
    label is always ANDed with ``labels`` (see ``chaoskit.platform.labelled``).
    ``count``/``percent`` choose at random (the run's seed) among the matches;
    ``dry_run`` lists what would be hit and injects nothing.
    """

    labels: dict[str, str] = Field(min_length=1)
    engine: str | None = None
    """Docker engine URL (``unix:///var/run/docker.sock``, ``ssh://...``); default: DOCKER_HOST."""
    count: int | None = Field(default=None, ge=1)
    percent: float | None = Field(default=None, gt=0, le=100)
    dry_run: bool = False

    @model_validator(mode="after")
    def _amount(self) -> ContainerFault:
        if self.count is not None and self.percent is not None:
            raise ValueError("use either count or percent, not both")
        return self


class ContainerKill(ContainerFault):
    """Kill ``count`` (default one) of the matching containers.

    ``mode: kill`` sends ``signal`` through the engine (a manual stop: the
    container's restart policy does not fire). ``mode: crash`` SIGKILLs the main
    process from the host, so its restart policy does. Reverting starts any
    that are still down.
    """

    fault: Literal["container_kill"]
    mode: Literal["kill", "crash"] = "kill"
    signal: str = "SIGKILL"


class ContainerPause(ContainerFault):
    """``docker pause`` the matching containers (all of them unless count/percent)."""

    fault: Literal["container_pause"]


class ContainerStop(ContainerFault):
    """``docker stop`` ``count`` (default one) of the matching containers; revert starts them."""

    fault: Literal["container_stop"]
    timeout: Duration = 10.0
    """Seconds between SIGTERM and SIGKILL."""


FaultSpec = Annotated[
    InstanceKill | ZoneOutage | RegionOutage | Pause | ContainerKill | ContainerPause
    | ContainerStop,
    Field(discriminator="fault"),
]
