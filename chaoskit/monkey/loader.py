"""Monkey files (YAML) → :class:`MonkeyConfig`, with ``file:line: field:`` errors.

Read like an experiment: the safe YAML reader, ``topology:`` a file path
(resolved as experiments resolve it) or inline, ``load.locustfile`` made
absolute, and every service, zone, region or instance an exception or an
outage-check probe names checked against the topology.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from chaoskit.errors import ConfigError
from chaoskit.loader.diagnostics import combine, from_validation_error
from chaoskit.loader.documents import finish_topology, read_topology_file
from chaoskit.loader.paths import NotFound, resolve
from chaoskit.loader.references import known_names, unknown_references
from chaoskit.loader.safe_yaml import YamlPath, field_name, read_yaml
from chaoskit.model.experiment import Experiment, Settings
from chaoskit.monkey.config import MonkeyConfig


def load_monkey(path: str | Path) -> MonkeyConfig:
    """Load and validate a monkey file; raises :class:`ConfigError` (exit 2)."""
    file = str(path)
    target = Path(path)
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError("expected a .yaml or .yml monkey file", file=file)
    if not target.is_file():
        raise ConfigError("no such file" if not target.exists() else "not a file", file=file)
    document = read_yaml(target, file)
    if not isinstance(document.value, dict):
        raise ConfigError("expected a mapping with title, topology (or containers) and "
                          "schedule", file=file, line=document.line_of(()) or 1)
    raw = dict(document.value)

    def error(message: str, at: YamlPath) -> ConfigError:
        return ConfigError(message, file=file, line=document.line_of(at), field=field_name(at))

    root = target.absolute().parent
    reference = raw.get("topology")
    if isinstance(reference, str):
        try:
            found = resolve(reference, target)
        except NotFound as missing:
            raise error(f"topology file {missing}", ("topology",)) from None
        raw["topology"] = read_topology_file(found)
        root = found.root
    load = raw.get("load")
    if isinstance(load, dict) and isinstance(load.get("locustfile"), str):
        try:
            found = resolve(load["locustfile"], target)
        except NotFound as missing:
            raise error(f"locustfile {missing}", ("load", "locustfile")) from None
        raw["load"] = {**load, "locustfile": str(found.path)}
    try:
        config = MonkeyConfig.model_validate(raw)
    except ValidationError as problem:
        raise from_validation_error(problem, model=MonkeyConfig, data=raw, file=file,
                                    line_of=document.line_of) from None
    if config.topology is not None and not isinstance(reference, str):
        config = config.model_copy(update={"topology": finish_topology(
            config.topology, root=root, file=file, line_of=document.line_of,
            at=("topology",))})
    config = config.model_copy(update={"source": file, "base_dir": str(root)})
    errors = [error(message, at) for at, message in unknown_names(config)]
    if errors:
        raise combine(errors)
    return config


def unknown_names(config: MonkeyConfig) -> list[tuple[YamlPath, str]]:
    """Exceptions and outage-check probes naming a service, zone, region or instance the
    topology lacks (the probes are checked as an experiment's steady state is)."""
    problems: list[tuple[YamlPath, str]] = []
    if config.outage_check:
        probes = Experiment(title=config.title, topology=config.topology,
                            steady_state=config.outage_check, settings=Settings(),
                            base_dir=config.base_dir)
        for loc, _value, message in unknown_references(probes):
            if loc and loc[0] == "steady_state":
                problems.append((("outage_check", *loc[1:]), message))
    if config.topology is None:
        return problems
    known = known_names(config.topology)
    for index, exception in enumerate(config.schedule.exceptions):
        for kind in ("service", "zone", "region", "instance"):
            value = getattr(exception, kind)
            names = known.get(kind, [])
            if value is not None and value not in names:
                problems.append((("schedule", "exceptions", index, kind),
                                 f"unknown {kind} {value!r}; expected one of "
                                 f"{', '.join(names)}"))
    return problems
