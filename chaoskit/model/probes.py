"""Probe specifications: what to measure. How to measure lives in ``chaoskit.probes``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

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


class PrometheusProbe(Model):
    """A PromQL query through a Prometheus server's HTTP API.

    Instant (``/api/v1/query``, the default) or, with ``range: true``, over the
    probe's window (``/api/v1/query_range``, one point per ``step``) reduced by
    ``over_time``. When the result has several series they are combined by
    ``series`` (summed by default; aggregate in PromQL for anything else). No
    series (an empty vector) reads as None, which no tolerance accepts.
    """

    probe: Literal["prometheus"]
    query: str = Field(min_length=1)
    """The PromQL expression, e.g. ``sum(rate(shed_total[30s]))``."""
    url: str | None = None
    """The server's base URL (``http://127.0.0.1:9090``); default the run's own
    Prometheus (``observability: {prometheus: true}``)."""
    range: bool = False
    """Query over the last ``window`` seconds instead of at one instant."""
    window: Duration = 10.0
    step: Duration = 1.0
    """Resolution of a range query."""
    over_time: Literal["last", "min", "max", "mean"] = "last"
    """How a range query's points become one value."""
    series: Literal["sum", "min", "max", "count", "single"] = "sum"
    """How several series become one value; ``single`` reads None unless there is exactly one."""
    timeout: Duration = 5.0

    @field_validator("query")
    @classmethod
    def _balanced(cls, query: str) -> str:
        problem = promql_shape_problem(query)
        if problem:
            raise ValueError(f"PromQL query {query!r} does not parse: {problem}")
        return query

    def describe(self) -> str:
        how = f"{self.over_time} over {self.window:g} s" if self.range else "now"
        return f"PromQL {self.query} ({how})"


def promql_shape_problem(query: str) -> str | None:
    """What is visibly wrong with a PromQL expression (brackets, quotes), else None.

    Only what is knowable without a server; Prometheus itself judges the rest
    when the probe reads (a 400 ``bad_data`` answer reads as None).
    """
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for char in query:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return f"unbalanced {char!r}"
    if quote:
        return f"unterminated string ({quote})"
    if stack:
        return f"unclosed {stack[-1]!r}"
    return None


ProbeSpec = Annotated[
    LoadProbe | HttpProbe | InstancesProbe | MetricProbe | InvariantProbe | PrometheusProbe,
    Field(discriminator="probe"),
]
