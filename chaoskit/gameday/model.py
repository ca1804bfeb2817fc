"""A GameDay as declared (steps, failure policy) and as it went (one record per step).

Pure data. A step is exactly one of ``experiment`` (a file, with optional
overrides), ``pause`` (a duration) or ``checkpoint`` (runbook text for the
people in the room). The GameDay's verdict is its worst experiment's, by the
same precedence a single run's verdict uses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from chaoskit.model.base import Model
from chaoskit.model.duration import Duration
from chaoskit.model.verdict import Verdict

Policy = Literal["stop", "continue"]
StepKind = Literal["experiment", "pause", "checkpoint"]
StepVerdict = Literal["passed", "deviated", "aborted", "not_steady", "error", "interrupted",
                      "done", "skipped"]
"""A run's verdict for experiment steps; ``done`` for a pause or checkpoint that ran,
``skipped`` for a step after the GameDay stopped."""

SEVERITY: tuple[Verdict, ...] = (Verdict.PASSED, Verdict.DEVIATED, Verdict.ABORTED,
                                 Verdict.NOT_STEADY, Verdict.ERROR, Verdict.INTERRUPTED)
"""Weakest to strongest, as ``chaoskit.checks.verdict`` orders a run's own reasons."""


class Step(Model):
    """One step: ``experiment: file``, ``pause: 10s`` or ``checkpoint: text``."""

    experiment: str | None = None
    """An experiment file; relative to the working directory, then the GameDay's folder
    and its parents (as experiments resolve their topology)."""
    pause: Duration | None = None
    checkpoint: str | None = None
    """Runbook text printed for the humans; waits for Enter only on an interactive terminal."""
    name: str | None = None
    disable: tuple[str, ...] = ()
    """Defences switched off for this experiment (as ``chaoskit run --disable``)."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """Experiment settings replaced for this step (``{warmup: 2s}``)."""
    on_failure: Policy | None = None
    """This step's own policy; the GameDay's when absent."""

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        given = [k for k in ("experiment", "pause", "checkpoint") if getattr(self, k) is not None]
        if len(given) != 1:
            got = f"got {' and '.join(given)}" if given else "got none of them"
            raise ValueError(f"a step is exactly one of experiment, pause or checkpoint; {got}")
        if given[0] != "experiment":
            extra = [k for k in ("disable", "settings", "on_failure") if getattr(self, k)]
            if extra:
                raise ValueError(f"{', '.join(extra)} only apply to an experiment step")
        return self

    @property
    def kind(self) -> StepKind:
        if self.experiment is not None:
            return "experiment"
        return "pause" if self.pause is not None else "checkpoint"

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        if self.experiment is not None:
            return self.experiment
        if self.pause is not None:
            return f"pause {self.pause:g}s"
        return (self.checkpoint or "").strip().splitlines()[0][:80] if self.checkpoint else ""


class GameDay(Model):
    """An ordered exercise: experiments, pauses and checkpoints, one report at the end."""

    title: str
    description: str = ""
    on_failure: Policy = "stop"
    """After a step that did not pass: ``stop`` (skip the rest) or ``continue``."""
    steps: tuple[Step, ...] = Field(min_length=1)
    source: str | None = Field(default=None, exclude=True)
    """Where the GameDay was loaded from (for messages and relative paths)."""


class StepRecord(Model):
    """What one step did."""

    index: int
    kind: StepKind
    name: str
    verdict: StepVerdict
    started: float | None = None
    ended: float | None = None
    time_to_recover: float | None = None
    exit_code: int = 0
    reasons: tuple[str, ...] = ()
    experiment: str | None = None
    """The experiment file, for experiment steps."""
    run_dir: str | None = None
    """The run's folder relative to the GameDay's folder (where its report.html is)."""
    text: str = ""
    """A checkpoint's runbook text."""

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def failed(self) -> bool:
        """Did not pass: a run's verdict other than passed, or an interrupted pause/checkpoint."""
        return self.verdict not in ("passed", "done", "skipped")


class GameDayRecord(Model):
    """``gameday.json``: the whole exercise, as the HTML report shows it."""

    schema_version: int = 1
    title: str
    description: str = ""
    source: str | None = None
    on_failure: Policy
    platform: str = "local"
    started: float
    ended: float
    steps: tuple[StepRecord, ...]
    stopped_after: int | None = None
    """Index of the step after which the GameDay stopped (policy ``stop``, or interrupted)."""

    @property
    def verdict(self) -> Verdict:
        """The worst verdict of any step (an interrupted pause counts); passed if none failed."""
        ran = [Verdict(s.verdict) for s in self.steps if s.verdict in Verdict.__members__.values()]
        return max(ran, key=SEVERITY.index, default=Verdict.PASSED)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def duration(self) -> float:
        return max(0.0, self.ended - self.started)
