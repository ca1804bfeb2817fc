"""The system under test: regions → zones → services → instances, and the edges between them.

A topology is declared once (YAML or Python) and *planned* into concrete
:class:`Instance` values by :func:`plan_instances`. Planning is pure: no ports
are bound and no process is started here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from chaoskit.model.base import Model
from chaoskit.model.duration import Duration

GLOBAL = "global"
"""Zone and region of a service with ``scope: global`` (it belongs to no zone)."""


class Region(Model):
    """A region and its availability zones."""

    name: str
    zones: tuple[str, ...] = Field(min_length=1)


class RestartPolicy(Model):
    """What the platform does when an instance dies (like an auto-scaling group)."""

    policy: Literal["always", "never"] = "always"
    delay: Duration = 2.0


class Dependency(Model):
    """A dependency edge from a service to another one.

    ``locality`` says which instances of the upstream a caller may reach: only
    those of its own zone, of its own region, or all of them.
    """

    service: str
    locality: Literal["zone", "region", "global"] = "region"


class Service(Model):
    """A service: the command that runs one instance, and where instances go."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    command: tuple[str, ...] = Field(min_length=1)
    scope: Literal["zone", "region", "global"] = "zone"
    replicas: int = Field(default=1, ge=1, le=64)
    regions: tuple[str, ...] | None = None
    health: str = "/health"
    restart: RestartPolicy = RestartPolicy()
    depends_on: tuple[Dependency, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("depends_on", mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # ``depends_on: [playback]`` is shorthand for ``[{service: playback}]``.
        if isinstance(value, list | tuple):
            return [{"service": v} if isinstance(v, str) else v for v in value]
        return value


class DockerSettings(Model):
    """Options of the ``docker`` platform; ignored by the others.

    ``engines`` maps a zone name (or ``global``, for global services) to the
    Docker engine its instances run on: ``{us-east-1a: "unix:///var/run/docker.sock",
    us-east-1b: "ssh://docker@host-b"}``. Unmapped zones use the default engine
    (``DOCKER_HOST``). Instances still talk over 127.0.0.1, so every engine must
    share the runner's network (see ``chaoskit.platform.docker``).
    """

    engines: dict[str, str] = Field(default_factory=dict)


class Topology(Model):
    """Regions, services and the entry point load is sent to."""

    name: str
    regions: tuple[Region, ...] = Field(min_length=1)
    services: tuple[Service, ...] = Field(min_length=1)
    entrypoint: str
    workdir: str = "."
    """Working directory of instances, relative to the topology file."""
    docker: DockerSettings | None = None
    """Where the docker platform runs each zone (optional)."""

    @model_validator(mode="after")
    def _references(self) -> Topology:
        services = {s.name for s in self.services}
        regions = {r.name for r in self.regions}
        if len(services) != len(self.services):
            raise ValueError("service names must be unique")
        zones = [z for r in self.regions for z in r.zones]
        if len(set(zones)) != len(zones):
            raise ValueError("zone names must be unique across regions")
        if self.entrypoint not in services:
            raise ValueError(
                f"entrypoint {self.entrypoint!r} is not a service; "
                f"expected one of {sorted(services)}"
            )
        for service in self.services:
            for dep in service.depends_on:
                if dep.service not in services:
                    raise ValueError(
                        f"service {service.name!r} depends on unknown service {dep.service!r}; "
                        f"expected one of {sorted(services)}"
                    )
            for region in service.regions or ():
                if region not in regions:
                    raise ValueError(
                        f"service {service.name!r} is placed in unknown region {region!r}; "
                        f"expected one of {sorted(regions)}"
                    )
        unknown_zones = set(self.docker.engines if self.docker else ()) - {*zones, GLOBAL}
        if unknown_zones:
            raise ValueError(f"docker.engines names unknown zone(s) {sorted(unknown_zones)}; "
                             f"expected some of {sorted({*zones, GLOBAL})}")
        return self

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(z for r in self.regions for z in r.zones)

    def region_of(self, zone: str) -> str:
        for region in self.regions:
            if zone in region.zones:
                return region.name
        raise KeyError(zone)


class Instance(Model):
    """One planned copy of a service. Its id is stable across restarts."""

    id: str
    service: str
    zone: str
    region: str
    index: int


class Selector(Model):
    """Chooses instances by label; an unset field matches everything."""

    service: str | None = None
    zone: str | None = None
    region: str | None = None
    instance: str | None = None

    def matches(self, instance: Instance) -> bool:
        return (
            (self.service is None or instance.service == self.service)
            and (self.zone is None or instance.zone == self.zone)
            and (self.region is None or instance.region == self.region)
            and (self.instance is None or instance.id == self.instance)
        )

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.model_dump(exclude_none=True).items()]
        return ",".join(parts) or "all instances"


def plan_instances(topology: Topology) -> tuple[Instance, ...]:
    """Every instance the topology declares, in a stable order (dependencies first)."""
    planned: list[Instance] = []
    for service in _dependency_order(topology):
        for region in topology.regions:
            if service.regions is not None and region.name not in service.regions:
                continue
            if service.scope == "zone":
                for zone in region.zones:
                    planned += _replicas(service, zone, region.name)
            elif service.scope == "region":
                # A regional service spreads its replicas over the region's zones.
                planned += [
                    Instance(id=f"{service.name}-{region.name}-{i}", service=service.name,
                             zone=region.zones[i % len(region.zones)], region=region.name,
                             index=i)
                    for i in range(service.replicas)
                ]
        if service.scope == "global":
            planned += _replicas(service, GLOBAL, GLOBAL)
    return tuple(planned)


def _replicas(service: Service, zone: str, region: str) -> list[Instance]:
    return [
        Instance(id=f"{service.name}-{zone}-{i}", service=service.name, zone=zone,
                 region=region, index=i)
        for i in range(service.replicas)
    ]


def _dependency_order(topology: Topology) -> list[Service]:
    ordered: list[Service] = []
    seen: set[str] = set()

    def visit(service: Service, path: tuple[str, ...]) -> None:
        if service.name in seen:
            return
        if service.name in path:
            raise ValueError(f"dependency cycle: {' -> '.join((*path, service.name))}")
        for dep in service.depends_on:
            visit(topology.service(dep.service), (*path, service.name))
        seen.add(service.name)
        ordered.append(service)

    for service in topology.services:
        visit(service, ())
    return ordered


def reachable(caller: Instance, upstream: Instance, dependency: Dependency) -> bool:
    """Whether ``caller`` may call ``upstream`` under the edge's locality rule."""
    if dependency.locality == "global" or caller.zone == GLOBAL:
        return True
    if dependency.locality == "region":
        return caller.region == upstream.region
    return caller.zone == upstream.zone
