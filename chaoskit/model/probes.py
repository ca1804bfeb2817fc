"""Probe specifications: what to measure. How to measure lives in ``chaoskit.probes``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chaoskit.model.base import Model
from chaoskit.model.duration import Duration
from chaoskit.model.topology import Selector

LoadMetric = Literal[
    "load.success_ratio",
    "load.failure_ratio",
    "load.p50_ms",
    "load.p95_ms",
    "load.p99_ms",
    "load.rps",
    "load.goodput",
    "load.requests",
    "load.failures",
]


class LoadProbe(Model):
    """A statistic of the Locust traffic over the last ``window``.

    ``request`` narrows it to one request name (Locust's ``name=``), e.g. the
    critical requests only.
    """

    probe: LoadMetric
    window: Duration = 10.0
    request: str | None = None


class HttpProbe(Model):
    """One HTTP GET on 127.0.0.1; the reading is 1.0 when it matches, else 0.0.

    ``url`` may name a service instead of a host: ``service://edge/health``.
    """

    probe: Literal["http"]
    url: str
    status: int = 200
    body_contains: str | None = None
    timeout: Duration = 2.0
    max_latency: Duration | None = None


class InstancesProbe(Model):
    """How many selected instances are up and healthy right now."""

    probe: Literal["instances"]
    selector: Selector = Selector()


class MetricProbe(Model):
    """A Prometheus-format metric scraped from the selected instances, summed."""

    probe: Literal["metric"]
    metric: str
    selector: Selector = Selector()
    labels: dict[str, str] = Field(default_factory=dict)


class InvariantProbe(Model):
    """An invariant audited by a service endpoint that answers ``{"violations": N, ...}``."""

    probe: Literal["invariant"]
    url: str
    field: str = "violations"
    timeout: Duration = 5.0


ProbeSpec = Annotated[
    LoadProbe | HttpProbe | InstancesProbe | MetricProbe | InvariantProbe,
    Field(discriminator="probe"),
]
