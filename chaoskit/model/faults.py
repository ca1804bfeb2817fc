"""Fault specifications: what to inject, where, and for how long.

Each spec is pure data; its behaviour lives in ``chaoskit.faults.<kind>``.
Every spec shares ``after`` (offset from the start of INJECT) and
``duration`` (how long it stays before the runner reverts it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from chaoskit.model.base import FieldError, Model
from chaoskit.model.duration import Duration
from chaoskit.model.topology import Selector, Topology


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
    instance: str | None = None
    """One instance by id (``redis-a-0``, the primary a topology starts with)."""
    count: int | None = Field(default=None, ge=1)
    percent: float | None = Field(default=None, gt=0, le=100)

    @property
    def selector(self) -> Selector:
        """The instances the victims are chosen among."""
        return Selector(service=self.service, zone=self.zone, region=self.region,
                        instance=self.instance)

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

    @property
    def selector(self) -> Selector:
        """Every instance of the zone."""
        return Selector(zone=self.zone)


class RegionOutage(FaultBase):
    """Chaos Kong: a whole region is lost, or evacuated gradually."""

    fault: Literal["region_outage"]
    region: str
    mode: Literal["terminate", "isolate", "evacuate"] = "terminate"

    @property
    def selector(self) -> Selector:
        """Every instance of the region."""
        return Selector(region=self.region)


class Pause(FaultBase):
    """SIGSTOP (or docker pause) the selected instances: they hang, sockets stay open."""

    fault: Literal["pause"]
    service: str | None = None
    zone: str | None = None
    region: str | None = None
    count: int | None = Field(default=None, ge=1)

    @property
    def selector(self) -> Selector:
        """The instances to freeze (``count`` of them, or all)."""
        return Selector(service=self.service, zone=self.zone, region=self.region)


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
        if self.labels.get("chaoskit.enable", "true") != "true":
            raise ValueError("chaoskit.enable can only be 'true': chaoskit never selects "
                             "containers that did not opt in")
        if not set(self.labels) - {"chaoskit.enable"}:
            raise ValueError("name at least one label besides chaoskit.enable "
                             "(e.g. labels: {app: web})")
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



class RequestFault(FaultBase):
    """Netflix FIT: calls to ``dependency`` fail, or wait ``delay`` first, for the requests
    of one cohort only, in the callers' RPC clients (``groups: {control: true, share: ..}``).

    Applied through the ``/admin/fit`` endpoint every bundled service offers, on
    every instance that calls ``dependency`` (``caller`` narrows them to one service).
    """

    fault: Literal["request_fault"]
    dependency: str
    """The service whose calls are faulted (it keeps running; only its callers see the fault)."""
    cohort: Literal["experiment"] = "experiment"
    """Faults go to the experiment cohort only: the control cohort is the comparison."""
    error: bool = False
    """The calls fail (as a failed connection would) instead of reaching the dependency."""
    delay: Duration | None = None
    """Each call waits this long before it is made (a slow dependency): ``300ms``, at most 60s."""
    caller: str | None = None
    """Only the calls made by this service (default: every service that depends on it)."""

    @model_validator(mode="after")
    def _does_something(self) -> RequestFault:
        if not self.error and not self.delay:
            raise FieldError(("error",), "a request fault fails calls (error: true), delays "
                             "them (delay: 300ms), or both")
        if self.delay is not None and self.delay > 60:
            raise FieldError(("delay",), "at most 60s: a longer wait is an outage (error: true)")
        return self

    def callers(self, topology: Topology) -> tuple[str, ...]:
        """The services whose calls to ``dependency`` the fault hits (``caller`` or every one)."""
        return tuple(s.name for s in topology.services
                     if any(d.service == self.dependency for d in s.depends_on)
                     and self.caller in (None, s.name))


Direction = Literal["upstream", "downstream", "both"]
"""Toxiproxy's streams: ``upstream`` is caller → upstream (requests), ``downstream``
upstream → caller (responses); ``both`` puts one toxic on each."""


class LinkFault(FaultBase):
    """A network fault on links: the proxies carrying dependency edges (DESIGN §2).

    ``service``/``zone``/``region``/``instance`` choose the upstream side (the
    instances being called); ``caller`` keeps only links from that service.
    Unset fields match everything: a fault with none of them hits every link.
    """

    fault: str  # each kind narrows it to its Literal name
    service: str | None = None
    zone: str | None = None
    region: str | None = None
    instance: str | None = None
    caller: str | None = None
    """Only links from instances of this service (default: from every caller); not on
    ``links: shared`` topologies, where one proxy carries every caller."""
    proxy: tuple[str, ...] | None = None
    """Declared proxies (the experiment's ``proxies``, attach mode) by name, instead of
    a topology's links; one name or a list."""
    direction: Direction = "downstream"
    toxicity: float = Field(default=1.0, ge=0, le=1)
    """Share of connections affected, drawn per connection and direction (Toxiproxy's rule)."""

    @field_validator("proxy", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _proxies_or_selection(self) -> LinkFault:
        if self.proxy is not None:
            if not self.proxy:
                raise ValueError("proxy: name at least one declared proxy")
            chosen = [name for name in ("service", "zone", "region", "instance", "caller")
                      if getattr(self, name) is not None]
            if chosen:
                raise ValueError(f"proxy names the links itself; drop {', '.join(chosen)}")
        return self

    @property
    def selector(self) -> Selector:
        """The upstream side: the instances whose incoming links are hit."""
        return Selector(service=self.service, zone=self.zone, region=self.region,
                        instance=self.instance)

    @property
    def caller_selector(self) -> Selector | None:
        """The calling side, or None for links from every caller."""
        return Selector(service=self.caller) if self.caller else None


class Latency(LinkFault):
    """Latency Monkey: every chunk on the selected links waits ``latency`` ± ``jitter`` ms."""

    fault: Literal["latency"]
    latency: int = Field(ge=0)
    """Delay in milliseconds."""
    jitter: int = Field(default=0, ge=0)
    """Uniform spread around ``latency``, in milliseconds."""


class Partition(LinkFault):
    """The links are cut.

    ``blackhole`` (default): a ``timeout`` toxic with timeout 0 swallows every
    byte and never closes, as a network that drops packets does; callers wait
    for their own timeouts. New connections are still accepted by the proxy (a
    userland proxy cannot drop a SYN), so a connect succeeds and the request
    then hangs. ``refuse``: the proxies are disabled, so connects fail at once
    with ECONNREFUSED and live connections are closed, as a dead host's port
    does. ``refuse`` cuts whole links: it takes no direction or toxicity.
    """

    fault: Literal["partition"]
    mode: Literal["blackhole", "refuse"] = "blackhole"
    direction: Direction = "both"

    @model_validator(mode="after")
    def _whole_links(self) -> Partition:
        if self.mode == "refuse" and (self.direction != "both" or self.toxicity != 1.0):
            raise ValueError("mode refuse disables whole proxies: "
                             "direction must be both and toxicity 1")
        return self


class Bandwidth(LinkFault):
    """At most ``rate`` KB/s (1 KB = 1000 bytes) through each selected link."""

    fault: Literal["bandwidth"]
    rate: int = Field(ge=1)
    """KB per second; 0 would let nothing through (use ``partition`` for that)."""


class ResetPeer(LinkFault):
    """Connections are reset (RST): the first chunk is swallowed, then after ``timeout`` ms
    the connection closes with ECONNRESET. Upstream by default: the request never reaches
    the upstream, so the caller may safely retry it."""

    fault: Literal["reset_peer"]
    timeout: int = Field(default=0, ge=0)
    """Milliseconds between the first chunk and the reset."""
    direction: Direction = "upstream"


class Timeout(LinkFault):
    """Data stops flowing; the connection is closed ``timeout`` ms later (0: never)."""

    fault: Literal["timeout"]
    timeout: int = Field(ge=0)
    """Milliseconds of silence before the close (any chunk restarts the wait)."""
    direction: Direction = "both"


class Slicer(LinkFault):
    """Data arrives in small pieces (``average_size`` ± ``size_variation`` bytes),
    ``delay`` microseconds apart: exercises code that assumes whole messages."""

    fault: Literal["slicer"]
    average_size: int = Field(default=64, ge=1)
    size_variation: int = Field(default=32, ge=0)
    delay: int = Field(default=10, ge=0)
    """Microseconds between pieces."""

    @model_validator(mode="after")
    def _sizes(self) -> Slicer:
        if self.size_variation >= self.average_size:
            raise ValueError("size_variation must be smaller than average_size")
        return self


class LimitData(LinkFault):
    """Each connection is closed once ``bytes`` bytes have passed (the crossing chunk is
    truncated): a transfer cut off mid-way."""

    fault: Literal["limit_data"]
    bytes: int = Field(ge=0)


FaultSpec = Annotated[
    InstanceKill | ZoneOutage | RegionOutage | Pause | ContainerKill | ContainerPause
    | ContainerStop | Latency | Partition | Bandwidth | ResetPeer | Timeout | Slicer
    | LimitData | RequestFault,
    Field(discriminator="fault"),
]
