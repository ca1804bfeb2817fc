"""Probe specifications: what to measure. How to measure lives in ``chaoskit.probes``."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

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


class Breach(Model):
    """Seconds of the window whose own value breaks a bound, instead of the window's value.

    Each one-second load sample is judged alone (a second with no traffic, or
    missing from the stream, breaks the bound: nothing got through). The reading
    is the longest run of consecutive breaking seconds (``measure: longest``) or
    their total (``measure: total``), so "failover took at most 10 s" is
    ``breach: {below: 0.9}`` with ``tolerance: {max: 10}``.
    """

    below: float | None = None
    """A second breaks when its value is below this."""
    above: float | None = None
    """A second breaks when its value is above this."""
    measure: Literal["longest", "total"] = "longest"

    @model_validator(mode="after")
    def _one_bound(self) -> Breach:
        if (self.below is None) == (self.above is None):
            raise ValueError("breach takes exactly one of below or above")
        return self

    def breaks(self, value: float | None) -> bool:
        if value is None:
            return True
        if self.below is not None:
            return value < self.below
        return self.above is not None and value > self.above

    def describe(self) -> str:
        bound = f"< {self.below:g}" if self.below is not None else f"> {self.above:g}"
        return f"{self.measure} run of seconds {bound}" if self.measure == "longest" \
            else f"seconds {bound}"


class LoadProbe(Model):
    """A statistic of the Locust traffic over the last ``window``.

    ``request`` narrows it to one request name (Locust's ``name=``), e.g. the
    critical requests only. With ``breach`` the reading is a number of seconds
    (see :class:`Breach`).
    """

    probe: LoadMetric
    window: Duration = 10.0
    request: str | None = None
    breach: Breach | None = None
    """Read how long the per-second value broke a bound in the window, in seconds."""


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
    """A Prometheus-format metric scraped from the selected instances that are up.

    Each instance's matching samples are summed, then instances are combined by
    ``aggregate`` (summed by default). Read from the instance's ``port`` (a
    named port, its first by default) at ``path``.
    """

    probe: Literal["metric"]
    metric: str
    selector: Selector = Selector()
    labels: dict[str, str] = Field(default_factory=dict)
    """Label matchers: ``{role: master}`` equals; a value written ``~REGEX`` must match
    fully, ``!VALUE`` must differ."""
    port: str | None = None
    """A named port of the instances (an exporter's); their first by default."""
    path: str = Field(default="/metrics", pattern=r"^/")
    aggregate: Literal["sum", "min", "max", "count"] = "sum"
    """How instances combine; ``count``: how many instances have the metric."""
    timeout: Duration = 2.0


class TcpProbe(Model):
    """TCP connects to the selected instances' named port, or to one ``address``.

    ``value: accepting`` (default) reads the share of targets that accept within
    ``timeout`` (1.0 all, 0.0 none); ``connect_p50_ms`` / ``connect_p99_ms`` /
    ``connect_max_ms`` read connect times of those that accepted (None if none did).
    """

    probe: Literal["tcp"]
    selector: Selector = Selector()
    port: str | None = None
    """A named port of the selected instances; their first by default."""
    address: str | None = Field(default=None, pattern=r"^[^\s:]+:[0-9]{1,5}$")
    """``host:port`` of a system chaoskit did not start; replaces selector and port."""
    timeout: Duration = 1.0
    value: Literal["accepting", "connect_p50_ms", "connect_p99_ms", "connect_max_ms"] = \
        "accepting"

    @model_validator(mode="after")
    def _address_alone(self) -> TcpProbe:
        if self.address is not None and (self.port is not None or self.selector != Selector()):
            raise ValueError("tcp probe: address replaces selector and port; give one or the "
                             "other")
        return self

    def describe(self) -> str:
        where = self.address or f"{self.selector.describe()} port {self.port or '(first)'}"
        return f"TCP {where} ({self.value})"


class CommandProbe(Model):
    """A command run to completion; the reading is its exit status or a number it prints.

    ``command`` is an argv (no shell), each item a template with the names a
    topology's templates see (``instances('redis')``, ``host``, ``python``).
    With a ``selector`` it runs once per selected instance that is up, also
    seeing that instance's ``port``, ``ports``, ``instance``, and the readings
    are combined by ``aggregate``. It runs in its own process group, killed
    and reaped after ``timeout``.

    Reading: the exit status by default; with ``regex``, the first group (or
    the whole match) of its first match on stdout; with ``count: true``, how
    many times ``regex`` matches; with ``json_path`` (``members[0].status.db_size``),
    the number at that path of stdout parsed as JSON (true/false read 1/0).
    Reading the output needs exit status 0. Failures read None with a detail.
    """

    probe: Literal["command"]
    command: tuple[str, ...] = Field(min_length=1)
    selector: Selector | None = None
    regex: str | None = None
    count: bool = False
    json_path: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    """Added to chaoskit's environment; values are templates too."""
    timeout: Duration = 5.0
    aggregate: Literal["sum", "min", "max"] = "sum"
    """How per-instance readings combine (with a selector)."""

    @model_validator(mode="after")
    def _one_reading(self) -> CommandProbe:
        if self.regex is not None and self.json_path is not None:
            raise ValueError("command probe: regex and json_path are two ways to read the "
                             "output; give one")
        if self.count and self.regex is None:
            raise ValueError("command probe: count counts matches of regex; give a regex")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as error:
                raise ValueError(f"command probe: regex {self.regex!r}: {error}") from None
        if self.json_path is not None and json_path_steps(self.json_path) is None:
            raise ValueError(f"command probe: json_path {self.json_path!r} is not a dotted "
                             "path with [index] (e.g. members[0].status)")
        return self

    def describe(self) -> str:
        how = ("count of " + repr(self.regex)) if self.count else (
            f"regex {self.regex!r}" if self.regex else (
                f"json {self.json_path}" if self.json_path else "exit status"))
        return f"$ {' '.join(self.command)} ({how})"


_STEP = re.compile(r'\.?([A-Za-z_][\w-]*)|\[(-?[0-9]+)\]|\[\"([^\"]*)\"\]')


def json_path_steps(path: str) -> list[str | int] | None:
    """``a.b[0]["c d"]`` as keys and indexes; a leading ``$`` is allowed. None if malformed."""
    rest = path.removeprefix("$")
    steps: list[str | int] = []
    while rest:
        match = _STEP.match(rest)
        if match is None:
            return None
        name, index, quoted = match.groups()
        steps.append(int(index) if index is not None else name if name is not None else quoted)
        rest = rest[match.end():]
    return steps


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
    LoadProbe | HttpProbe | InstancesProbe | MetricProbe | InvariantProbe | PrometheusProbe
    | TcpProbe | CommandProbe,
    Field(discriminator="probe"),
]


class Compare(Model):
    """Judge a load probe by the experiment group against the control group (Netflix ChAP).

    Exactly one margin: ``max_drop`` (the experiment's value may be at most this much
    lower than the control's, in the probe's unit: ratios, goodput), ``max_rise`` (at
    most this much higher: failure ratios) or ``max_ratio`` (at most this many times the
    control's: latencies). The run deviates only when the observed difference exceeds the
    margin *and* a one-sided permutation test of the two groups' mean per-second values
    over the same window says so at level ``alpha`` (see ``chaoskit.checks.compare``).
    """

    max_drop: float | None = Field(default=None, ge=0)
    max_rise: float | None = Field(default=None, ge=0)
    max_ratio: float | None = Field(default=None, ge=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    """The test's significance level: a divergence with a larger p is taken for noise."""

    @model_validator(mode="after")
    def _one_margin(self) -> Compare:
        given = [m for m in (self.max_drop, self.max_rise, self.max_ratio) if m is not None]
        if len(given) != 1:
            raise ValueError("compare takes exactly one of max_drop (ratios: experiment at "
                             "most this much lower than control), max_rise (at most this "
                             "much higher) or max_ratio (latencies: at most this many times "
                             "control)")
        return self

    def allowed(self, control: float) -> float:
        """The worst experiment value the margin allows against ``control``."""
        if self.max_drop is not None:
            return control - self.max_drop
        if self.max_rise is not None:
            return control + self.max_rise
        return control * (self.max_ratio or 1.0)

    @property
    def lower_is_worse(self) -> bool:
        return self.max_drop is not None

    def exceeded(self, value: float, control: float) -> bool:
        """Whether the experiment's value lies beyond the margin from the control's."""
        bound = self.allowed(control)
        return value < bound if self.lower_is_worse else value > bound

    def holds(self, value: float | None, control: float | None, p_value: float | None) -> bool:
        """The comparison judged from what a reading stores: no data never holds; a
        difference beyond the margin fails only when it is significant (p < alpha)."""
        if value is None or control is None or p_value is None:
            return False
        return not (self.exceeded(value, control) and p_value < self.alpha)

    @property
    def min_seconds(self) -> int:
        """The fewest seconds per group whose test can reach p < ``alpha``: with n seconds
        each the smallest one-sided p of an exact permutation test is 1 / C(2n, n) (3 s: 0.05)."""
        n = 1
        while 1 / math.comb(2 * n, n) >= self.alpha:
            n += 1
        return n

    def describe(self) -> str:
        if self.max_drop is not None:
            return f"at most {self.max_drop:g} below control"
        if self.max_rise is not None:
            return f"at most {self.max_rise:g} above control"
        return f"at most {self.max_ratio:g}x control"
