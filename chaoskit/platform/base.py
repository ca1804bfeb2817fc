"""The platform protocol: what runs instances and can kill, pause and restore them.

``local`` runs subprocesses, ``docker`` runs containers. Both receive the same
:class:`Launch` values, planned by :mod:`chaoskit.platform.deployment`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from chaoskit.model.topology import HealthCheck, HttpHealth, Instance, RestartPolicy

DEFAULT_HEALTH = HttpHealth()
"""GET /health on the first port: what the bundled targets answer."""


class InstanceState(StrEnum):
    STARTING = "starting"
    UP = "up"
    UNHEALTHY = "unhealthy"
    """Running, was healthy, and fails its health check now."""
    DOWN = "down"
    """Dead, waiting for replacement (or held down by a fault)."""
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Launch:
    """Everything needed to start (and restart) one instance."""

    instance: Instance
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str
    ports: Mapping[str, int]
    """Named ports, the instance's address first."""
    restart: RestartPolicy
    health: HealthCheck = DEFAULT_HEALTH
    health_port: int | None = None
    """The port the health check dials (the first port unless the service says)."""
    health_command: tuple[str, ...] = ()
    """A command health check's argv, rendered like ``argv``."""
    ready_timeout: float = 60.0
    host: str = "127.0.0.1"

    @property
    def port(self) -> int:
        return next(iter(self.ports.values()))

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def health_url(self) -> str:
        """The URL an http health check fetches (the first port's ``/health`` otherwise)."""
        path = self.health.http if isinstance(self.health, HttpHealth) else "/health"
        return f"http://{self.host}:{self.health_port or self.port}{path}"

    @property
    def health_target(self) -> str:
        """What the health check asks, for messages."""
        if isinstance(self.health, HttpHealth):
            return self.health_url
        if self.health is None:
            return "nothing (health: none)"
        if self.health_command:
            return f"`{' '.join(self.health_command)}`"
        return f"tcp {self.host}:{self.health_port or self.port}"


@dataclass(frozen=True)
class InstanceStatus:
    instance: Instance
    state: InstanceState
    address: str
    restarts: int = 0
    held: bool = False
    """True while a fault keeps the instance down (no replacement until restored)."""
    handle: str = ""
    """The pid or container id currently behind the instance."""
    extra: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Platform(Protocol):
    """Runs a topology's instances. Every method is safe to call from the event loop."""

    name: str

    async def start(self, launches: Sequence[Launch], *, timeout: float = 60.0) -> None:
        """Start every instance in the order given and return when all are healthy.

        Raises PlatformError (having stopped whatever it started) when one never
        becomes healthy within ``timeout``.
        """

    async def kill(self, ids: Sequence[str], *, hold: bool = False) -> None:
        """SIGKILL the instances; return once each is confirmed dead.

        With ``hold`` the restart policy is suspended for them until
        :meth:`restore`; without it, the policy replaces them after its delay.
        """

    async def restore(self, ids: Sequence[str], *, timeout: float = 60.0) -> None:
        """Lift any hold, start those not running, resume paused ones; return when all healthy."""

    async def pause(self, ids: Sequence[str]) -> None:
        """Freeze the instances (SIGSTOP / docker pause): alive, sockets open, no progress."""

    async def resume(self, ids: Sequence[str]) -> None:
        """Undo :meth:`pause`."""

    def status(self) -> list[InstanceStatus]:
        """The current state of every instance, in launch order."""

    async def close(self) -> None:
        """Stop everything this platform started and forget its state file. Idempotent."""
