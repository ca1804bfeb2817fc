"""GameDay files → a validated :class:`GameDay` and its experiments, before anything runs.

The YAML goes through the experiments' safe reader (no tags, aliases or
duplicate keys; every value's line known), so an error reads
``gameday.yaml:12: steps[2].experiment: ...``. Every experiment file is
loaded and checked up front: a typo in step four must not surface half an
hour into the exercise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from chaoskit.errors import ConfigError
from chaoskit.gameday.model import GameDay, Step
from chaoskit.loader import load_experiment
from chaoskit.loader.diagnostics import combine, from_validation_error
from chaoskit.loader.overrides import with_overrides
from chaoskit.loader.paths import NotFound, resolve, shown
from chaoskit.loader.safe_yaml import YamlPath, field_name, read_yaml
from chaoskit.model.defences import unknown_defences
from chaoskit.model.experiment import Experiment, Settings

LineOf = Callable[[YamlPath], int | None]


@dataclass(frozen=True)
class PlannedStep:
    """A step with its experiment loaded (overrides applied); None for pauses and checkpoints."""

    step: Step
    experiment: Experiment | None


def load_gameday(path: str | Path) -> GameDay:
    """Load and validate a GameDay YAML file and every experiment it names.

    Raises :class:`ConfigError` (exit 2) naming file, line and field.
    """
    file = str(path)
    target = Path(path)
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError("expected a .yaml or .yml GameDay file (a Python GameDay is a script: "
                          "run it with python)", file=file)
    if not target.is_file():
        raise ConfigError("no such file" if not target.exists() else "not a file", file=file)
    document = read_yaml(target, file)
    if not isinstance(document.value, dict):
        raise ConfigError("expected a mapping with title, on_failure and steps", file=file,
                          line=document.line_of(()) or 1)
    try:
        gameday = GameDay.model_validate(document.value)
    except ValidationError as error:
        raise from_validation_error(error, model=GameDay, data=document.value, file=file,
                                    line_of=document.line_of) from None
    gameday = gameday.model_copy(update={"source": file})
    plan(gameday, line_of=document.line_of)
    return gameday


def plan(gameday: GameDay, *, line_of: LineOf | None = None) -> list[PlannedStep]:
    """Resolve and load every step's experiment; every problem at once, by line."""
    file = gameday.source
    referrer = Path(file) if file else None
    errors: list[ConfigError] = []
    planned: list[PlannedStep] = []

    def error(message: str, at: YamlPath) -> None:
        errors.append(ConfigError(message, file=file, line=line_of(at) if line_of else None,
                                  field=field_name(at)))

    for index, step in enumerate(gameday.steps):
        at: YamlPath = ("steps", index)
        if step.experiment is None:
            planned.append(PlannedStep(step, None))
            continue
        bad = sorted(set(step.settings) - set(Settings.model_fields))
        if bad:
            error(f"unknown setting {bad[0]!r}; expected one of "
                  f"{', '.join(sorted(Settings.model_fields))}", (*at, "settings", bad[0]))
            continue
        try:
            found = resolve(step.experiment, referrer)
        except NotFound as missing:
            error(f"experiment file {missing}", (*at, "experiment"))
            continue
        try:
            experiment = load_experiment(shown(found.path))
        except ConfigError as problem:
            errors.append(problem)  # the experiment file's own error, with its own line
            continue
        try:
            experiment = with_overrides(experiment, step.settings)
        except ConfigError as problem:
            # A bad override: point at the GameDay's line, not the experiment's.
            key = (problem.field or "settings").removeprefix("settings").lstrip(".")
            error(problem.message, (*at, "settings", key.split(".")[0]) if key
                  else (*at, "settings"))
            continue
        declared = experiment.topology.defences if experiment.topology else {}
        unknown = unknown_defences(step.disable, declared)
        if unknown:
            error(unknown, (*at, "disable"))
            continue
        planned.append(PlannedStep(step, experiment))
    if errors:
        raise combine(errors)
    return planned
