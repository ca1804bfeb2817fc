"""The system under test: regions → zones → services → instances, and the edges between them.

A topology is declared once (YAML or Python) and *planned* into concrete
:class:`Instance` values by :func:`plan_instances`. Planning is pure: no ports
are bound and no process is started here.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from chaoskit.model.base import FieldError, Model
from chaoskit.model.defences import Defence
from chaoskit.model.duration import Duration

GLOBAL = "global"
"""Zone and region of a service with ``scope: global`` (it belongs to no zone)."""


PORT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class DefenceSpec(Model):
    """A user's own defence: what ``--disable NAME`` removes (and tells the templates)."""

    description: str = ""
    remove: tuple[str, ...] = ()
    """Services that do not run while the defence is disabled."""


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


class HttpHealth(Model):
    """Healthy when ``GET http://host:PORT{http}`` answers 2xx (the default: ``/health``)."""

    http: str = Field(default="/health", pattern=r"^/")
    port: str | None = None
    """A named port of the service; its first port by default."""


class TcpHealth(Model):
    """Healthy when the named port accepts a TCP connection (nothing is sent)."""

    tcp: str


class CommandHealth(Model):
    """Healthy when the command (templated like ``command``) exits 0 within ``timeout``."""

    command: tuple[str, ...] = Field(min_length=1)
    timeout: Duration = 2.0


HealthCheck = HttpHealth | TcpHealth | CommandHealth | None
"""How the platform tells an instance is up; None (``health: none``): once started."""

HEALTH_KINDS = ("http", "tcp", "command")


class MetricsEndpoint(Model):
    """Where an instance serves Prometheus text (scraped by the run's own Prometheus)."""

    port: str | None = None
    """A named port of the service; its first port by default."""
    path: str = Field(default="/metrics", pattern=r"^/")


class Service(Model):
    """A service: the command that runs one instance, and where instances go.

    ``command``, ``env`` values and ``files`` are Jinja2 templates rendered per
    instance (see :mod:`chaoskit.templates` for the names they may use).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    command: tuple[str, ...] = Field(min_length=1)
    scope: Literal["zone", "region", "global"] = "zone"
    replicas: int = Field(default=1, ge=1, le=64)
    regions: tuple[str, ...] | None = None
    zones: tuple[str, ...] | None = Field(default=None, min_length=1)
    """Only these zones (of the regions the service is in) get its instances."""
    ports: tuple[str, ...] = Field(default=("http",), min_length=1, max_length=16)
    """Named ports, each drawn per instance; the first is the instance's address."""
    health: HealthCheck = HttpHealth()
    metrics: MetricsEndpoint | None = MetricsEndpoint()
    """Its Prometheus endpoint; ``none``: it has none (not scraped)."""
    ready_timeout: Duration = 60.0
    """How long the service's instances (awaited together) may take to become healthy."""
    restart: RestartPolicy = RestartPolicy()
    depends_on: tuple[Dependency, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    """Relative path in the instance's data dir → template, written before its first start."""

    @field_validator("ports", mode="after")
    @classmethod
    def _port_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not PORT_NAME.fullmatch(name):
                raise ValueError(f"port name {name!r} must be lowercase letters, digits and _, "
                                 "starting with a letter")
        if len(set(value)) != len(value):
            raise ValueError(f"port names repeat: {list(value)}")
        return value

    @field_validator("health", mode="before")
    @classmethod
    def _health_shorthand(cls, value: object) -> object:
        # ``health: /status`` is shorthand for ``{http: /status}``; ``none``: no check.
        if value is None or value == "none":
            return None
        if isinstance(value, str):
            return {"http": value}
        if isinstance(value, dict):
            kinds = [k for k in HEALTH_KINDS if k in value]
            if len(kinds) != 1:
                raise ValueError(f"expected exactly one health kind of {', '.join(HEALTH_KINDS)} "
                                 f"(or none), got keys {sorted(value)}")
            models: dict[str, type[Model]] = {"http": HttpHealth, "tcp": TcpHealth,
                                              "command": CommandHealth}
            model = models[kinds[0]]
            try:
                return model.model_validate(value)
            except ValidationError as error:  # one message, not one per union member
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(f"{kinds[0]} health: {where}: {first['msg']}") from None
        return value

    @field_validator("metrics", mode="before")
    @classmethod
    def _no_metrics(cls, value: object) -> object:
        return None if value == "none" else value

    @field_validator("files", mode="after")
    @classmethod
    def _inside_data_dir(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            path = PurePosixPath(name)
            if not name or path.is_absolute() or ".." in path.parts or name.endswith("/"):
                raise ValueError(f"file {name!r} must be a relative path inside the instance's "
                                 "data dir (no '..', not absolute)")
        return value

    @model_validator(mode="after")
    def _health_port(self) -> Service:
        port = None
        if isinstance(self.health, TcpHealth):
            port = self.health.tcp
        elif isinstance(self.health, HttpHealth):
            port = self.health.port
        if port is not None and port not in self.ports:
            raise FieldError(("health",), f"health names unknown port {port!r}; expected one "
                                          f"of {', '.join(self.ports)}")
        if self.metrics is not None and self.metrics.port not in (None, *self.ports):
            raise ValueError(f"metrics names unknown port {self.metrics.port!r}; expected one "
                             f"of {', '.join(self.ports)}")
        return self

    @property
    def health_port(self) -> str:
        """The named port the health check connects to (the first unless it says)."""
        if isinstance(self.health, TcpHealth):
            return self.health.tcp
        if isinstance(self.health, HttpHealth) and self.health.port is not None:
            return self.health.port
        return self.ports[0]

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
    defences: dict[str, DefenceSpec] = Field(default_factory=dict)
    """The system's own defences, by the name ``--disable`` takes."""
    links: Literal["per_caller", "shared"] = "per_caller"
    """How network faults reach instances. ``per_caller``: one proxy per dependency edge
    and caller instance (a fault may pick its ``caller``). ``shared``: one proxy per
    instance, on its first named port, that every caller (every template's
    ``instances(...)``) dials, so a system passing addresses around (Sentinel, gossip)
    knows each node by one address; faults then cannot pick a caller."""

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
            allowed = [z for r in self.regions
                       if service.regions is None or r.name in service.regions for z in r.zones]
            for zone in service.zones or ():
                if zone not in allowed:
                    raise ValueError(
                        f"service {service.name!r} is placed in unknown zone {zone!r}; "
                        f"expected some of {allowed}")
            if service.zones is not None and service.scope == GLOBAL:
                raise ValueError(f"service {service.name!r} is global: it has no zones to choose")
        for name, defence in self.defences.items():
            unknown = [s for s in defence.remove if s not in services]
            if unknown:
                raise FieldError(("defences", name, "remove"),
                                 f"defence {name!r} removes unknown service(s) {unknown}; "
                                 f"expected some of {sorted(services)}")
        unknown_zones = set(self.docker.engines if self.docker else ()) - {*zones, GLOBAL}
        if unknown_zones:
            raise ValueError(f"docker.engines names unknown zone(s) {sorted(unknown_zones)}; "
                             f"expected some of {sorted({*zones, GLOBAL})}")
        return self

    @property
    def declared_defences(self) -> tuple[Defence, ...]:
        return tuple(Defence(name=name, description=spec.description or
                             f"removes {', '.join(spec.remove) or 'nothing'}")
                     for name, spec in self.defences.items())

    def without_defences(self, disabled: frozenset[str]) -> Topology:
        """The topology as it runs with ``disabled`` off: their services removed, and
        every dependency on them dropped."""
        removed = {s for name in disabled if name in self.defences
                   for s in self.defences[name].remove}
        if not removed:
            return self
        services = tuple(
            service.model_copy(update={"depends_on": tuple(
                d for d in service.depends_on if d.service not in removed)})
            for service in self.services if service.name not in removed)
        return self.model_copy(update={"services": services})

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

    service: str | tuple[str, ...] | None = None
    """One name, or a list of names any of which matches (``[redis, sentinel]``)."""
    zone: str | tuple[str, ...] | None = None
    region: str | tuple[str, ...] | None = None
    instance: str | tuple[str, ...] | None = None

    def matches(self, instance: Instance) -> bool:
        return (
            _chooses(self.service, instance.service)
            and _chooses(self.zone, instance.zone)
            and _chooses(self.region, instance.region)
            and _chooses(self.instance, instance.id)
        )

    def describe(self) -> str:
        parts = [f"{k}={'|'.join(v) if isinstance(v, list | tuple) else v}"
                 for k, v in self.model_dump(exclude_none=True).items()]
        return ",".join(parts) or "all instances"


def _chooses(wanted: str | tuple[str, ...] | None, have: str) -> bool:
    if wanted is None:
        return True
    return have == wanted if isinstance(wanted, str) else have in wanted


def plan_instances(topology: Topology) -> tuple[Instance, ...]:
    """Every instance the topology declares, in a stable order (dependencies first)."""
    planned: list[Instance] = []
    for service in _dependency_order(topology):
        for region in topology.regions:
            if service.regions is not None and region.name not in service.regions:
                continue
            zones = [z for z in region.zones if service.zones is None or z in service.zones]
            if not zones:
                continue  # ``zones:`` chose none of this region's
            if service.scope == "zone":
                for zone in zones:
                    planned += _replicas(service, zone, region.name)
            elif service.scope == "region":
                # Replicas spread over the (chosen) zones round-robin, as evenly as the
                # count allows.
                planned += [
                    Instance(id=f"{service.name}-{region.name}-{i}", service=service.name,
                             zone=zones[i % len(zones)], region=region.name, index=i)
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
