"""An experiment: the hypothesis, the load, the method, the guardrails."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from chaoskit.model.base import FieldError, Model
from chaoskit.model.duration import Duration
from chaoskit.model.faults import FaultSpec, LinkFault, RegionOutage, RequestFault, ZoneOutage
from chaoskit.model.probes import Compare, LoadProbe, ProbeSpec
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.topology import Topology


class SteadyStateProbe(Model):
    """A named probe whose reading must lie within ``tolerance``, or (with groups) compare
    with the control group's reading (``compare``), or both.

    Written flat in YAML: ``{name: ..., probe: load.p99_ms, window: 10s, tolerance: {max: 500}}``.
    """

    name: str
    probe: ProbeSpec
    tolerance: Tolerance | None = None
    """Absolute bounds on the reading; optional when ``compare`` is given."""
    compare: Compare | None = None
    """Judge the experiment group against the control group (needs ``groups.control``)."""

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: object) -> object:
        # YAML writes the probe's own fields beside name/tolerance/compare; nest them.
        if isinstance(data, dict) and not isinstance(data.get("probe"), dict | Model):
            own = {k: v for k, v in data.items() if k not in _OWN}
            nested = {k: data[k] for k in _OWN if k in data}
            return {**nested, "probe": own}
        return data

    @model_validator(mode="after")
    def _judged_somehow(self) -> SteadyStateProbe:
        if self.tolerance is None and self.compare is None:
            raise FieldError(("tolerance",), "expected a tolerance ({min: 0.99}, {max: 500} "
                             "...), or compare: {max_drop: 0.01} with groups: {control: true}")
        if self.compare is not None:
            if not isinstance(self.probe, LoadProbe):
                raise FieldError(("compare",), "compare judges per-second load samples of "
                                 "both groups: only load.* probes can compare")
            if self.probe.breach is not None:
                raise FieldError(("compare",), "breach reads seconds beyond a bound, not a "
                                 "per-second value to compare; compare the metric without "
                                 "breach, or give breach a tolerance")
            if self.probe.window < self.compare.min_seconds:
                raise FieldError(("window",), f"a compared window of {self.probe.window:g} s "
                                 f"can never differ significantly at alpha "
                                 f"{self.compare.alpha:g} (too few seconds per group to "
                                 f"test); expected at least {self.compare.min_seconds}s")
        return self

    def accepts(self, value: float | None) -> bool:
        """The absolute part of the judgement (the comparison needs the control's reading)."""
        return value is not None if self.tolerance is None else self.tolerance.accepts(value)


_OWN = ("name", "tolerance", "compare")
"""A steady-state probe's own fields; the rest of its flat YAML mapping is the probe's."""


class Guardrail(SteadyStateProbe):
    """A probe watched every second while faults are active; a breach aborts the run."""

    name: str = ""

    @model_validator(mode="after")
    def _default_name(self) -> Guardrail:
        if not self.name:
            object.__setattr__(self, "name", f"guardrail {self.probe.probe}")
        return self


class LoadTarget(Model):
    """Where Locust sends its traffic (its ``--host``): a service's first instance."""

    service: str
    port: str | None = None
    """A named port of the service; its first by default."""
    scheme: str = Field(default="http", pattern=r"^[a-z][a-z0-9+.-]*$")
    """``redis`` gives ``--host redis://127.0.0.1:PORT``; the locustfile reads it."""


class LoadSpec(Model):
    """Locust traffic sent to the topology's entry point for the whole run."""

    locustfile: str
    users: int = Field(default=10, ge=1, le=2000)
    spawn_rate: float = Field(default=10, gt=0)
    host: str | None = None
    """A URL on 127.0.0.1; by default the topology's entry point (or ``target``)."""
    target: LoadTarget | None = None
    env: dict[str, str] = Field(default_factory=dict)
    """Environment of the Locust process; values are templates (``instances('sentinel')``)."""
    slo: Duration = 1.0
    """A success slower than this does not count as goodput (Amazon's useful throughput)."""
    through_link: bool = False
    """Send Locust's traffic through links (proxies in front of the instances), so link
    faults on the target slow or cut the clients too; ``load.env`` templates then see
    the links' addresses. Links carry an instance's first named port only."""
    workers: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] | None = None
    """Locust's own distributed mode: a master and this many worker processes on
    127.0.0.1 (``auto``: one per core, at most one per user). None: one Locust process,
    which is one core of load."""

    @field_validator("workers", mode="before")
    @classmethod
    def _worker_count(cls, value: object) -> object:
        # One message rather than one per member of the union.
        if value is None or value == "auto" or (
                isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 64):
            return value
        raise ValueError(f"expected a number of worker processes (1 to 64) or auto, "
                         f"got {value!r}")

    @model_validator(mode="after")
    def _a_user_per_worker(self) -> LoadSpec:
        # Locust spreads users over workers: a worker without one sends nothing and
        # only takes a core from the load (and from the system under test).
        if isinstance(self.workers, int) and self.workers > self.users:
            raise FieldError(("workers",), f"at most one worker per user ({self.users} "
                             f"users): workers: {self.users} or fewer, or more users")
        return self


class Groups(Model):
    """Control and experiment groups, after Netflix's ChAP.

    ``{control: true}``: the topology is deployed twice (control and experiment, same
    commands, ports apart), the load is split evenly between them, faults go only into the
    experiment group, and ``compare``d probes judge one against the other. With ``share``
    (FIT mode) one deployment carries both: the load marks that share of requests per
    cohort with ``header``, and request-level faults hit the experiment cohort only.
    """

    control: bool = False
    share: Annotated[float | None, WithJsonSchema({"anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5},
        {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"},
        {"type": "null"}]})] = None
    """Each cohort's share of the requests ("5%" or 0.05); None: two deployments."""
    header: str = Field(default="X-Chaoskit-Cohort", pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    """The HTTP header that carries a request's cohort (FIT mode)."""

    @field_validator("share", mode="before")
    @classmethod
    def _percent(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                return float(value.strip()[:-1]) / 100
            except ValueError:
                raise ValueError(f"{value!r} is not a percentage (5%)") from None
        return value

    @field_validator("share")
    @classmethod
    def _cohort_share(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 0.5:
            raise ValueError(f"share {value * 100:g}%: each cohort's share of the requests lies in "
                             "(0, 50%] (control and experiment take as much each)")
        return value

    @model_validator(mode="after")
    def _share_needs_control(self) -> Groups:
        if self.share is not None and not self.control:
            raise FieldError(("control",), "share sets the size of the control and "
                             "experiment cohorts: give control: true with it")
        return self

    @property
    def deployments(self) -> int:
        """How many copies of the topology run: 2 with a control group and no share."""
        return 2 if self.control and self.share is None else 1


class Observability(Model):
    """What chaoskit runs beside the system to observe it."""

    prometheus: bool = False
    """Start a Prometheus (Debian's ``prometheus``) for the run, scraping every instance's
    metrics; ``prometheus`` probes then query it with no ``url``."""


LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""Where chaoskit sends load, probes and proxied bytes without ``settings.allow_hosts``."""

_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$")


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return bool(_HOST.fullmatch(value)) and len(value) <= 253
    return True


def split_address(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) → (host, port); ValueError otherwise."""
    host, sep, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port")
    if not _is_host(host):
        raise ValueError(f"{value!r}: {host!r} is not a host name or IP address")
    return host, int(port)


class ProxySpec(Model):
    """A proxy chaoskit creates for the run in front of a system it did not start (attach
    mode), Toxiproxy-style: clients dial ``listen``, the proxy dials ``upstream``. Link
    faults name it with ``proxy: NAME``; it is deleted at teardown."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    listen: str
    """``127.0.0.1:PORT`` (any loopback address): where the proxy server listens."""
    upstream: str
    """``host:port`` the proxy forwards to: loopback, or a host in ``settings.allow_hosts``."""

    @field_validator("listen", "upstream")
    @classmethod
    def _address(cls, value: str) -> str:
        split_address(value)
        return value

    @model_validator(mode="after")
    def _loopback_listen(self) -> ProxySpec:
        host, _ = split_address(self.listen)
        if not _loopback(host):
            raise ValueError(f"listen {self.listen!r}: a proxy listens on this machine only "
                             "(127.0.0.1:PORT, or another 127.x address)")
        if self.listen == self.upstream:
            raise ValueError("listen and upstream are the same address: the proxy would dial "
                             "itself")
        return self


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(Model):
    seed: int = 0
    warmup: Duration = 5.0
    recover_within: Duration = 30.0
    check_during: bool = True
    """Also hold the steady state to its tolerances over the fault window."""
    recovery_window: Duration = 3.0
    """Window over which recovery is judged second by second after the revert."""
    max_duration: Duration = 900.0
    """Hard bound on the whole run: past it the run is reverted and ends in error."""
    allow_hosts: tuple[str, ...] = ()
    """Hosts besides 127.0.0.1/localhost/::1 that load, probes and declared proxies may
    send to (a staging environment): bare host names or IP addresses, not URLs."""

    @field_validator("allow_hosts", mode="after")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not _is_host(host.removeprefix("[").removesuffix("]")):
                raise ValueError(f"{host!r} is not a host (a name or IP address, with no "
                                 "scheme, port or path: staging.example.com, 10.0.0.5)")
        return value

    def allows(self, host: str | None) -> bool:
        """Whether chaoskit may send traffic to ``host``."""
        if host is None:
            return False
        bare = host.removeprefix("[").removesuffix("]").lower()
        return bare in LOOPBACK or bare in {h.removeprefix("[").removesuffix("]").lower()
                                            for h in self.allow_hosts}


class Experiment(Model):
    """An experiment, as declared. Loaded from YAML or built in Python."""

    title: str
    description: str = ""
    topology: Topology | None = None
    """The system chaoskit starts; None for experiments on a user's own labelled containers."""
    load: LoadSpec | None = None
    steady_state: tuple[SteadyStateProbe, ...] = Field(min_length=1)
    method: tuple[FaultSpec, ...] = ()
    guardrails: tuple[Guardrail, ...] = ()
    settings: Settings = Settings()
    observability: Observability = Observability()
    proxies: tuple[ProxySpec, ...] = ()
    """Attach mode: proxies in front of a system chaoskit did not start (no topology)."""
    groups: Groups = Groups()
    """Control and experiment groups (Netflix ChAP): ``{control: true}`` deploys twice."""
    source: str | None = Field(default=None, exclude=True)
    """Where the experiment was loaded from (for messages); not part of the format."""
    base_dir: str = Field(default=".", exclude=True)
    """Directory relative paths (locustfile, topology workdir) resolve against."""

    @model_validator(mode="after")
    def _load_needs_a_target(self) -> Experiment:
        if self.topology is None and self.load is not None and not self.load.host:
            raise ValueError("load.host is required when the experiment has no topology "
                             "(there is no entry point to send traffic to)")
        target = self.load.target if self.load is not None else None
        if target is not None and self.topology is not None and target.port is not None:
            names = [s.name for s in self.topology.services]
            if target.service in names:  # an unknown service is reported by the loader
                ports = self.topology.service(target.service).ports
                if target.port not in ports:
                    raise FieldError(("load", "target", "port"),
                                     f"service {target.service!r} has no port "
                                     f"{target.port!r}; expected one of {', '.join(ports)}")
        return self

    @model_validator(mode="after")
    def _links(self) -> Experiment:
        self._check_proxies()
        topology = self.topology
        load = self.load
        if load is not None and load.through_link:
            if topology is None:
                raise FieldError(("load", "through_link"),
                                 "load.through_link needs a topology (in attach mode, point "
                                 "load.host at a declared proxy's listen address)")
            if load.target is not None and load.target.port is not None and \
                    load.target.service in {s.name for s in topology.services}:
                first = topology.service(load.target.service).ports[0]
                if load.target.port != first:
                    raise FieldError(("load", "target", "port"),
                                     f"links carry a service's first named "
                                     f"port ({first!r}), so load.through_link cannot reach "
                                     f"{load.target.port!r}")
        for index, fault in enumerate(self.method):
            if isinstance(fault, LinkFault):
                if fault.proxy is None and topology is None:
                    raise FieldError(("method", index), f"a {fault.fault} fault without a "
                                     "topology acts on declared proxies: give it proxy: NAME")
                if fault.proxy is not None and topology is not None:
                    raise FieldError(("method", index, "proxy"), "declared proxies are for "
                                     "experiments without a topology")
                if fault.caller is not None and topology is not None \
                        and topology.links == "shared":
                    raise FieldError(("method", index, "caller"), f"topology {topology.name!r} has "
                                     "links: shared (one proxy per instance, shared by every "
                                     "caller), so a fault cannot pick a caller; drop caller or "
                                     "use links: per_caller")
            elif isinstance(fault, ZoneOutage | RegionOutage) and fault.mode == "isolate" \
                    and topology is not None and topology.links == "shared":
                raise FieldError(("method", index, "mode"), "isolate cuts the links crossing a "
                                 "zone or region, which needs links: per_caller (a shared link "
                                 "carries callers from both sides)")
        return self

    def _check_proxies(self) -> None:
        names = {p.name for p in self.proxies}
        for index, fault in enumerate(self.method):
            if isinstance(fault, LinkFault) and fault.proxy is not None:
                unknown = [n for n in fault.proxy if n not in names]
                if unknown:
                    raise FieldError(("method", index, "proxy"), "unknown proxy "
                                     f"{', '.join(map(repr, unknown))}; expected one of "
                                     f"{', '.join(sorted(names)) or 'none (declare proxies)'}")
        if not self.proxies:
            return
        if self.topology is not None:
            raise FieldError(("proxies",), "declared proxies are for a system chaoskit did not "
                             "start (attach mode); a topology's links are made by chaoskit")
        seen: dict[str, str] = {}
        for index, proxy in enumerate(self.proxies):
            host, _ = split_address(proxy.upstream)
            if not self.settings.allows(host):
                raise FieldError(("proxies", index, "upstream"), f"{host!r} is not this machine; "
                                 "list it in settings.allow_hosts to send traffic there")
            for key in (f"name {proxy.name}", f"listen {proxy.listen}"):
                if key in seen:
                    raise FieldError(("proxies", index), f"{key} repeats {seen[key]}")
                seen[key] = f"proxies[{index}]"

    @model_validator(mode="after")
    def _groups(self) -> Experiment:
        groups = self.groups
        for section in ("steady_state", "guardrails"):
            probes: tuple[SteadyStateProbe, ...] = getattr(self, section)
            for index, probe in enumerate(probes):
                if probe.compare is None:
                    continue
                if not groups.control:
                    raise FieldError((section, index, "compare"), "compare judges the "
                                     "experiment group against the control group: declare "
                                     "groups: {control: true} (two deployments) or "
                                     "{control: true, share: 5%} (cohorts of one)")
                if self.load is None:
                    raise FieldError((section, index, "compare"), "compare reads both "
                                     "groups' load samples: the experiment needs a load")
        for index, fault in enumerate(self.method):
            # A request fault hits the experiment cohort's requests, which only the
            # load's cohort header marks (FIT mode); without it nothing would be hit.
            if isinstance(fault, RequestFault) and groups.share is None:
                raise FieldError(("method", index, "fault"), "request_fault faults the "
                                 "experiment cohort's requests: declare groups: "
                                 "{control: true, share: 5%} so the load marks them")
            # (An unknown name is the loader's to report, with the names it could be.)
            if (isinstance(fault, RequestFault) and self.topology is not None
                    and {fault.dependency, fault.caller or fault.dependency}
                    <= {s.name for s in self.topology.services}
                    and not fault.callers(self.topology)):
                by = f"{fault.caller} does not call" if fault.caller else "no service depends on"
                raise FieldError(("method", index, "caller" if fault.caller else "dependency"),
                                 f"{by} {fault.dependency}: nothing would be faulted")
        if groups.deployments == 2:
            if self.topology is None:
                raise FieldError(("groups", "control"), "two deployments need a topology to "
                                 "deploy twice; a system chaoskit did not start can only "
                                 "compare cohorts of its traffic (share: 5%)")
            if self.load is not None and self.load.host:
                raise FieldError(("load", "host"), "with groups each group's load goes to its "
                                 "own deployment's entry point; load.host would send both to "
                                 "one (use load.target)")
        return self

    @property
    def main_group(self) -> Literal["", "experiment"]:
        """The group absolute probes, breach probes and guardrails without ``compare``
        read: the experiment group's with two deployments, all the traffic otherwise."""
        return "experiment" if self.groups.deployments == 2 else ""

    @property
    def slug(self) -> str:
        import re

        base = self.source.rsplit("/", 1)[-1].rsplit(".", 1)[0] if self.source else self.title
        return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:60] or "experiment"

    def fault_end(self) -> float:
        """Seconds from the start of INJECT until the last fault is due to be reverted."""
        return max((f.after + f.duration for f in self.method), default=0.0)
