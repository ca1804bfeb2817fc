"""An experiment: the hypothesis, the load, the method, the guardrails."""

from __future__ import annotations

from pydantic import Field, model_validator

from chaoskit.model.base import Model
from chaoskit.model.duration import Duration
from chaoskit.model.faults import FaultSpec
from chaoskit.model.probes import ProbeSpec
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.topology import Topology


class SteadyStateProbe(Model):
    """A named probe whose reading must lie within ``tolerance``.

    Written flat in YAML: ``{name: ..., probe: load.p99_ms, window: 10s, tolerance: {max: 500}}``.
    """

    name: str
    probe: ProbeSpec
    tolerance: Tolerance

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: object) -> object:
        # YAML writes the probe's own fields beside name/tolerance; nest them.
        if isinstance(data, dict) and not isinstance(data.get("probe"), dict | Model):
            own = {k: v for k, v in data.items() if k not in ("name", "tolerance")}
            nested = {k: data[k] for k in ("name", "tolerance") if k in data}
            return {**nested, "probe": own}
        return data


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


class Observability(Model):
    """What chaoskit runs beside the system to observe it."""

    prometheus: bool = False
    """Start a Prometheus (Debian's ``prometheus``) for the run, scraping every instance's
    metrics; ``prometheus`` probes then query it with no ``url``."""


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
                    raise ValueError(f"load.target.port: service {target.service!r} has no port "
                                     f"{target.port!r}; expected one of {', '.join(ports)}")
        return self

    @property
    def slug(self) -> str:
        import re

        base = self.source.rsplit("/", 1)[-1].rsplit(".", 1)[0] if self.source else self.title
        return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:60] or "experiment"

    def fault_end(self) -> float:
        """Seconds from the start of INJECT until the last fault is due to be reverted."""
        return max((f.after + f.duration for f in self.method), default=0.0)
