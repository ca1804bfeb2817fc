"""``journal.json``: everything known about one run, in one typed, versioned document.

The reports are pure functions of the journal, so ``chaoskit report`` can
re-render them long after the run. ``schema_version`` is explicit because
Chaos Toolkit's journal drifted without one and its reporter had to guess the
format from the library version.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from chaoskit.errors import ConfigError
from chaoskit.model.base import Model
from chaoskit.model.experiment import Experiment
from chaoskit.model.history import History
from chaoskit.model.verdict import Judgement, Judging
from chaoskit.version import __version__

SCHEMA_VERSION = 3
"""3: control and experiment groups: the experiment's ``groups`` and ``compare``, each load
sample's group, compared readings (control value, p-value, test, both groups' per-second
values) and breaches. 2: instance state events; topologies with named ports, health
kinds, templates. Older journals still read (they hold none of these)."""
JOURNAL_NAME = "journal.json"


class RunOptionsRecord(Model):
    """The flags a run was made with: where it ran and which defences were off."""

    platform: str = "local"
    proxy: str = "embedded"
    disabled: tuple[str, ...] = ()
    """Defences switched off for this run (``--disable``)."""
    dry_run: bool = False


class Journal(Model):
    """One run: the experiment as declared, how it was run, its history and its judgement."""

    schema_version: int = SCHEMA_VERSION
    chaoskit_version: str = __version__
    run_id: str
    experiment: Experiment
    options: RunOptionsRecord = RunOptionsRecord()
    started: float
    """Epoch seconds."""
    ended: float
    judgement: Judgement
    judging: Judging = Judging.EXPERIMENT
    """The rules the judgement was made by, so ``chaoskit report`` can judge it again."""
    time_to_recover: float | None = None
    history: History = Field(default_factory=History)
    source: str | None = None
    """The experiment file, when it came from one. Kept here because the experiment's own
    ``source`` is not part of its format (and so not in its dump)."""

    @model_validator(mode="after")
    def _source_from_experiment(self) -> Journal:
        if self.source is None and self.experiment.source is not None:
            object.__setattr__(self, "source", self.experiment.source)
        return self

    @property
    def slug(self) -> str:
        """The experiment's slug, the same at run time and when re-rendered from the journal."""
        if self.experiment.source is None and self.source is not None:
            return self.experiment.model_copy(update={"source": self.source}).slug
        return self.experiment.slug

    @property
    def duration(self) -> float:
        return max(0.0, self.ended - self.started)


def write_journal(run_dir: Path, journal: Journal) -> Path:
    """Write ``journal.json`` into ``run_dir`` (created if missing) and return its path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / JOURNAL_NAME
    # Written beside and renamed, so a reader never sees half a journal.
    partial = path.with_suffix(".json.partial")
    partial.write_text(journal.model_dump_json(indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def read_journal(path: Path) -> Journal:
    """Read a journal; a missing, unreadable or malformed file raises :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such journal", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the journal: {error}", file=str(path)) from None
    try:
        journal = Journal.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise ConfigError(f"not a chaoskit journal: {first['msg']}", file=str(path),
                          field=field) from None
    if journal.schema_version > SCHEMA_VERSION:
        raise ConfigError(
            f"journal schema {journal.schema_version} is newer than this chaoskit "
            f"understands ({SCHEMA_VERSION}); upgrade chaoskit", file=str(path))
    return journal
