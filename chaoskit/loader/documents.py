"""YAML experiments and topologies → validated models, every error with file:line: field."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from chaoskit.errors import ConfigError
from chaoskit.loader.diagnostics import combine, from_validation_error, locate
from chaoskit.loader.paths import NotFound, Resolved, resolve, shown
from chaoskit.loader.references import known_names, unknown_references
from chaoskit.loader.safe_yaml import Document, YamlPath, field_name, read_yaml
from chaoskit.model.experiment import Experiment
from chaoskit.model.topology import Topology
from chaoskit.templates import check_load_env, check_templates

M = TypeVar("M", bound=BaseModel)
LineOf = Callable[[YamlPath], int | None]


def read_topology_file(found: Resolved) -> Topology:
    """A topology file, validated; errors name that file, not the experiment referring to it."""
    file = shown(found.path)
    document = read_yaml(found.path, file)
    data = _mapping(document, "name, regions, services and entrypoint")
    topology = _validate(Topology, document, data)
    return finish_topology(topology, root=found.path.parent, file=file, line_of=document.line_of)


def finish_topology(topology: Topology, *, root: Path, file: str, line_of: LineOf,
                    at: YamlPath = ()) -> Topology:
    """Check what the model alone cannot (planning) and pin ``workdir`` to an absolute path.

    ``workdir`` is resolved here, once, against ``root``: the directory of the
    file declaring the topology (as ``Topology.workdir`` documents), so every
    later user (runner, platform, a Python experiment run outside the loader)
    agrees on it.
    """
    try:
        known_names(topology)
    except ValueError as error:  # a dependency cycle
        path = (*at, "services")
        raise ConfigError(str(error), file=file, line=line_of(path),
                          field=field_name(path)) from None
    errors = [ConfigError(problem.message, file=file, line=line_of((*at, *problem.loc)),
                          field=field_name((*at, *problem.loc)))
              for problem in check_templates(topology)]
    if errors:
        raise combine(errors)
    workdir = root / topology.workdir
    if not workdir.is_dir():
        path = (*at, "workdir")
        raise ConfigError(f"workdir {topology.workdir!r} is not a directory (looked for {workdir})",
                          file=file, line=line_of(path), field=field_name(path))
    return topology.model_copy(update={"workdir": os.path.normpath(workdir.absolute())})


def load_yaml_experiment(path: Path, file: str) -> Experiment:
    """A YAML experiment; ``file`` is the path as the user gave it (for messages)."""
    document = read_yaml(path, file)
    raw = dict(_mapping(document, "title, topology, steady_state and method"))
    for loader_only in ("source", "base_dir"):
        if loader_only in raw:
            # The model has these fields, but they describe where a file was loaded from.
            names = [n for n, i in Experiment.model_fields.items() if not i.exclude]
            raise ConfigError(f"unknown field {loader_only!r}; expected one of "
                              f"{', '.join(sorted(names))}", file=file,
                              line=document.line_of((loader_only,)), field=loader_only)
    root = path.absolute().parent
    reference = raw.get("topology")
    if reference is not None and not isinstance(reference, str | dict):
        raise ConfigError("expected the path of a topology file or the topology itself, got "
                          f"{reference!r}", file=file, line=document.line_of(("topology",)),
                          field="topology")
    if isinstance(reference, str):
        found = _find(reference, path, "topology file", document, ("topology",))
        raw["topology"] = read_topology_file(found)
        root = found.root
    load = raw.get("load")
    if isinstance(load, dict) and isinstance(load.get("locustfile"), str):
        found = _find(load["locustfile"], path, "locustfile", document, ("load", "locustfile"))
        # Absolute from here on: the runner need not know how it was found.
        raw["load"] = {**load, "locustfile": str(found.path)}
    experiment = _validate(Experiment, document, raw)
    if experiment.topology is not None and not isinstance(reference, str):
        # An inline topology's workdir is relative to the file declaring it.
        topology = finish_topology(experiment.topology, root=root, file=file,
                                   line_of=document.line_of, at=("topology",))
        experiment = experiment.model_copy(update={"topology": topology})

    def line_of(loc: tuple[str | int, ...]) -> tuple[YamlPath, int | None]:
        where = locate(Experiment, raw, loc).path
        return where, document.line_of(where)

    check_references(experiment, file, line_of)
    return experiment.model_copy(update={"source": file, "base_dir": str(root)})


def check_references(experiment: Experiment, file: str,
                     line_of: Callable[[tuple[str | int, ...]], tuple[YamlPath, int | None]]
                     ) -> None:
    """Raise a ConfigError for every zone/region/service/instance the topology lacks, and
    for a ``load.env`` template that does not render."""
    errors = []
    for loc, _value, message in unknown_references(experiment):
        path, line = line_of(loc)
        errors.append(ConfigError(message, file=file, line=line, field=field_name(path)))
    if experiment.topology is not None and experiment.load is not None and not errors:
        for problem in check_load_env(experiment.topology, experiment.load.env):
            path, line = line_of(problem.loc)
            errors.append(ConfigError(problem.message, file=file, line=line,
                                      field=field_name(path)))
    if errors:
        raise combine(errors)


def _find(reference: str, referrer: Path, what: str, document: Document,
          at: YamlPath) -> Resolved:
    try:
        return resolve(reference, referrer)
    except NotFound as error:
        raise ConfigError(f"{what} {error}", file=document.file, line=document.line_of(at),
                          field=field_name(at)) from None


def _mapping(document: Document, expected: str) -> dict[object, object]:
    if not isinstance(document.value, dict):
        got = "an empty file" if document.value is None else type(document.value).__name__
        raise ConfigError(f"expected a mapping with {expected}, got {got}", file=document.file,
                          line=document.line_of(()) or 1)
    return document.value


def _validate(model: type[M], document: Document, data: dict[object, object]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation_error(error, model=model, data=data, file=document.file,
                                    line_of=document.line_of) from None
