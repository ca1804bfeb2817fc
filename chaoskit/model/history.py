"""The append-only timeline of one run. The verdict is computed from it, after the run.

Every event carries ``t``, wall-clock seconds since the epoch, so load samples,
probe readings and fault windows share one timeline.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import Field

from chaoskit.model.base import Model
from chaoskit.model.probes import Compare
from chaoskit.model.tolerance import Tolerance

Group = Literal["", "control", "experiment"]
"""Which copy of the system a sample or instance belongs to (``groups: {control: true}``):
"" for an ungrouped run, or for all of the traffic of one deployment carrying both cohorts."""


class Phase(StrEnum):
    SETUP = "setup"
    WARMUP = "warmup"
    BASELINE = "baseline"
    INJECT = "inject"
    OBSERVE = "observe"
    REVERT = "revert"
    RECOVER = "recover"
    VERIFY = "verify"
    REPORT = "report"
    TEARDOWN = "teardown"


class Event(Model):
    t: float = Field(default_factory=time.time)


class PhaseStarted(Event):
    type: Literal["phase"] = "phase"
    phase: Phase


class RequestStats(Model):
    """One second of traffic, all requests or those of one request name."""

    requests: int = 0
    failures: int = 0
    good: int = 0
    """Successes no slower than the load's SLO: goodput."""
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    response_times: dict[int, int] = Field(default_factory=dict)
    """Histogram: response time in ms (rounded as Locust rounds) → count, for exact percentiles."""


class LoadSample(Event):
    """Locust's statistics for the one-second bucket starting at ``second``."""

    type: Literal["load"] = "load"
    second: int
    users: int = 0
    total: RequestStats
    by_name: dict[str, RequestStats] = Field(default_factory=dict)
    group: Group = ""
    """The group whose traffic this is; see :data:`Group`."""


ReadingRole = Literal["steady_state", "guardrail", "recovery"]
"""What a reading was taken for: the hypothesis, a guardrail, or the wait for recovery."""


class ProbeReading(Event):
    type: Literal["probe"] = "probe"
    phase: Phase
    role: ReadingRole
    name: str
    value: float | None
    """Of the experiment group when the run has groups (its ``main_group``)."""
    ok: bool
    """What the tolerance (and the comparison) said when the reading was taken (the run
    acted on it)."""
    tolerance: Tolerance | None = None
    """Kept as data, not text, so a journal can be judged again (``chaoskit report``).
    None only for a compared probe without an absolute bound."""
    detail: str = ""
    compare: Compare | None = None
    """A compared probe's margin and alpha: with ``control`` and ``p_value`` the reading
    is judged again without the samples."""
    control: float | None = None
    """The control group's value over the same window."""
    p_value: float | None = None
    """The one-sided test's p-value (the chance of a difference this large from noise)."""
    test: str = ""
    """The test the p-value comes from, e.g. "permutation test of means, one-sided, 10 s each"."""
    values: tuple[float, ...] = ()
    """A compared reading's per-second values of the experiment group, as tested."""
    control_values: tuple[float, ...] = ()
    """... and of the control group: a journal can be tested again under another margin."""

    @property
    def holds(self) -> bool:
        """The reading judged again against its tolerance and its comparison."""
        if self.tolerance is not None and not self.tolerance.accepts(self.value):
            return False
        return self.compare is None or self.compare.holds(self.value, self.control,
                                                           self.p_value)

    @property
    def expected(self) -> str:
        """What the reading had to be, as text: "<= 500 and at most 1.5x control"."""
        parts = [str(self.tolerance)] if self.tolerance is not None else []
        if self.compare is not None:
            parts.append(self.compare.describe())
        return " and ".join(parts)


class FaultStep(StrEnum):
    """A step of one fault's life. Each is recorded when it happens, so actuation is measured."""

    INJECT_CALLED = "inject_called"
    INJECT_EFFECTIVE = "inject_effective"
    INJECT_FAILED = "inject_failed"
    REVERT_CALLED = "revert_called"
    REVERT_EFFECTIVE = "revert_effective"
    REVERT_FAILED = "revert_failed"

    @property
    def failed(self) -> bool:
        return self in (FaultStep.INJECT_FAILED, FaultStep.REVERT_FAILED)

    @property
    def words(self) -> str:
        """"revert failed": the step as a person reads it."""
        return self.value.replace("_", " ")


class FaultEvent(Event):
    """A step of one fault's life; ``fault`` is its index in the method (``f0``, ``f1`` ...)."""

    type: Literal["fault"] = "fault"
    fault: str
    kind: str
    step: FaultStep
    label: str
    targets: tuple[str, ...] = ()
    detail: str = ""


class GuardrailBreached(Event):
    type: Literal["guardrail_breached"] = "guardrail_breached"
    name: str
    value: float | None
    tolerance: Tolerance | None = None
    """None for a compared guardrail without an absolute bound (see ``detail``)."""
    expected: str = ""
    """What the reading had to be ("at most 0.01 below control"); the tolerance's text
    when empty (journals before groups)."""
    compare: Compare | None = None
    """A compared guardrail's margin; ``detail`` then holds both groups' values and p."""
    detail: str = ""
    """The breaching reading's detail."""


class Recovery(Event):
    """Time-to-recover: from the first revert call until the steady state held again."""

    type: Literal["recovery"] = "recovery"
    seconds: float | None
    within: float


class Interrupted(Event):
    type: Literal["interrupted"] = "interrupted"
    signal: str


class RunError(Event):
    type: Literal["error"] = "error"
    phase: Phase | None
    message: str


class Note(Event):
    type: Literal["note"] = "note"
    message: str


class InstanceChanged(Event):
    """An instance's state as the platform sees it changed (up, unhealthy, down ...).

    Health is watched for the whole run, so this is what was healthy when: a kill, a
    replacement, a process that stopped answering its check without dying.
    """

    type: Literal["instance"] = "instance"
    instance: str
    state: str
    was: str


class Deployed(Event):
    """One group's copy of the system is up (recorded with two deployments only).

    Control instances are named ``control/<id>`` here and in :class:`InstanceChanged`:
    both copies run the same topology, so their own ids are the same.
    """

    type: Literal["deployed"] = "deployed"
    group: Group
    instances: tuple[str, ...]
    seconds: float
    """From the start of this group's setup until every instance was healthy."""


CONTROL_PREFIX = "control/"
"""What the control group's instance ids are prefixed with in the history."""


AnyEvent = Annotated[
    PhaseStarted | LoadSample | ProbeReading | FaultEvent | GuardrailBreached | Recovery
    | Interrupted | RunError | Note | InstanceChanged | Deployed,
    Field(discriminator="type"),
]


E = TypeVar("E", bound=Event)


class History(Model):
    """An append-only list of events. Appending is the only mutation."""

    events: list[AnyEvent] = Field(default_factory=list)

    model_config = Model.model_config | {"frozen": False}

    def append(self, event: AnyEvent) -> None:
        self.events.append(event)

    def of_type(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def phase_start(self, phase: Phase) -> float | None:
        for event in self.events:
            if isinstance(event, PhaseStarted) and event.phase == phase:
                return event.t
        return None

    def load_between(self, start: float, end: float, group: Group | None = None
                     ) -> list[LoadSample]:
        """Load samples whose second lies in [start, end); of one group when given."""
        return [e for e in self.events if isinstance(e, LoadSample) and start <= e.second < end
                and (group is None or e.group == group)]
