"""``journal.json`` in Chaos Toolkit's shape (chaostoolkit-lib ``initialize_run_journal``).

CTK's downstream tools (chaostoolkit-reporting, dashboards reading ``status``
and ``deviated``) read it as they read CTK's own. chaoskit adds one key CTK's
readers ignore, ``chaoskit``: the verdict, the exit code and why, what was
ignored, and where chaoskit acted differently from CTK on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, JsonValue

from chaoskit.model.base import Model
from chaoskit.model.verdict import Judgement

JOURNAL_NAME = "journal.json"

Status = Literal["completed", "failed", "aborted", "interrupted"]


def jsonable(value: Any) -> JsonValue:
    """An output as the journal keeps it: JSON as is, anything else as CTK's encoder writes it
    (text)."""
    return json.loads(json.dumps(value, default=_text))  # type: ignore[no-any-return]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class ActivityRun(Model):
    """One activity's execution (CTK's ``Run``)."""

    activity: dict[str, JsonValue]
    status: Literal["succeeded", "failed"]
    output: JsonValue = None
    start: str
    end: str
    duration: float
    exception: list[str] | None = None
    tolerance_met: bool | None = None
    """Hypothesis probes only."""


class SteadyState(Model):
    """One evaluation of the hypothesis: probes in order, stopping at the first not met."""

    steady_state_met: bool | None
    probes: list[ActivityRun] = Field(default_factory=list)


class SteadyStates(Model):
    before: SteadyState | None = None
    after: SteadyState | None = None
    during: list[SteadyState] = Field(default_factory=list)


class ChaoskitRecord(Model):
    """What chaoskit adds: its judgement, and the run's choices."""

    verdict: str
    exit_code: int
    reasons: tuple[str, ...] = ()
    hypothesis_strategy: str
    rollback_strategy: str
    rollbacks_played: bool
    rollbacks_why: str
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Where this run went another way than CTK would have, and signals received."""


class CtkJournal(Model):
    chaoslib_version: str = Field(alias="chaoslib-version")
    platform: str
    node: str
    experiment: dict[str, JsonValue]
    start: str
    end: str
    duration: float
    status: Status
    deviated: bool
    steady_states: SteadyStates
    run: list[ActivityRun]
    rollbacks: list[ActivityRun]
    chaoskit: ChaoskitRecord

    model_config = Model.model_config | {"populate_by_name": True}

    @property
    def judgement(self) -> Judgement:
        from chaoskit.model.verdict import Verdict

        return Judgement(verdict=Verdict(self.chaoskit.verdict), reasons=self.chaoskit.reasons)


def write_ctk_journal(run_dir: Path, journal: CtkJournal) -> Path:
    """Write ``journal.json`` into ``run_dir`` (created if missing); return its path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / JOURNAL_NAME
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(journal.model_dump(mode="json", by_alias=True), indent=2,
                                  ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def is_ctk_journal(path: Path) -> bool:
    """A journal.json a CTK run wrote (CTK's shape), rather than a chaoskit run's."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "chaoslib-version" in data


def read_ctk_journal(path: Path) -> CtkJournal:
    """A CTK-shaped journal chaoskit wrote; ConfigError when it is not one."""
    from pydantic import ValidationError

    from chaoskit.errors import ConfigError

    try:
        return CtkJournal.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as error:
        raise ConfigError(f"not a journal of a Chaos Toolkit run by chaoskit (journal.json of "
                          f"chaos run itself has no verdict): {str(error).splitlines()[0]}",
                          file=str(path)) from None
