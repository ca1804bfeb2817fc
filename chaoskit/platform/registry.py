"""Platforms by name, as faults are by kind: one table for the CLI's choices and the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chaoskit.errors import ConfigError
from chaoskit.model.topology import Topology
from chaoskit.platform.base import Platform
from chaoskit.state import RunState


@dataclass(frozen=True)
class PlatformSite:
    """What any platform is built from: the run's state file, its id and logs, the topology."""

    state: RunState
    run_id: str
    logs: Path
    topology: Topology | None
    say: Callable[[str], None]
    label: str = ""
    """Put before each instance's id where the state file names it (``control/``: a
    rollback then says which deployment a process belonged to)."""


def _local(site: PlatformSite) -> Platform:
    from chaoskit.platform.local import LocalPlatform

    return LocalPlatform(site.state, site.logs, label=site.label)


def _docker(site: PlatformSite) -> Platform:
    from chaoskit.platform.docker import DockerPlatform

    docker = site.topology.docker if site.topology else None
    return DockerPlatform(site.state, site.run_id, site.logs,
                          engines=docker.engines if docker else None, say=site.say)


PLATFORMS: dict[str, Callable[[PlatformSite], Platform]] = {"local": _local, "docker": _docker}
"""Imported lazily by each factory: the docker SDK loads only when a run asks for it."""


def make_platform(name: str, site: PlatformSite) -> Platform:
    try:
        factory = PLATFORMS[name]
    except KeyError:
        raise ConfigError(f"unknown platform {name!r}; expected {' or '.join(PLATFORMS)}",
                          field="--platform") from None
    return factory(site)
