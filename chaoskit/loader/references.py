"""Names an experiment uses must exist in its topology, checked before anything runs.

The check walks the model by field name rather than by fault or probe kind:
any field called ``zone``, ``region``, ``service`` or ``instance``, at any
depth (``selector:`` included), is checked. A new fault kind with a ``zone``
field is covered without a change here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pydantic import BaseModel

from chaoskit.model.experiment import Experiment
from chaoskit.model.probes import CommandProbe, PrometheusProbe
from chaoskit.model.topology import GLOBAL, Topology, plan_instances

Loc = tuple[str | int, ...]
MAX_LISTED = 12


def known_names(topology: Topology) -> dict[str, list[str]]:
    """Declared names by field name. Raises ValueError if the topology cannot be planned."""
    instances = plan_instances(topology)
    return {
        "zone": list(topology.zones),
        "region": [r.name for r in topology.regions],
        "service": [s.name for s in topology.services],
        "instance": [i.id for i in instances],
    }


def unknown_references(experiment: Experiment) -> list[tuple[Loc, str, str]]:
    """``(model loc, bad value, message)`` for every name the topology does not declare,
    and every probe that names something absent (see :func:`probe_problems`)."""
    if experiment.topology is None:
        # Nothing declared, nothing to check names against (user containers by label).
        return probe_problems(experiment)
    known = known_names(experiment.topology)
    has_global = any(s.scope == GLOBAL for s in experiment.topology.services)
    problems: list[tuple[Loc, str, str]] = []

    def check(field: str, value: str, loc: Loc) -> None:
        names = known[field]
        # Global services live in the pseudo zone/region "global": selecting it is
        # legitimate, but it is not offered as a suggestion.
        if value not in names and not (field in ("zone", "region") and value == GLOBAL
                                       and has_global):
            problems.append((loc, value, f"unknown {field} {value!r}; expected one of "
                                          f"{_listing(names)}"))

    def walk(value: object, loc: Loc) -> None:
        if isinstance(value, BaseModel):
            for name, info in type(value).model_fields.items():
                if info.exclude:
                    continue
                item = getattr(value, name)
                if name in known and isinstance(item, str):
                    check(name, item, (*loc, name))
                elif name in known and isinstance(item, tuple | list) and all(
                        isinstance(x, str) for x in item):
                    # A selector's list of names: ``service: [redis, sentinel]``.
                    for index, each in enumerate(item):
                        check(name, each, (*loc, name, index))
                elif name in ("caller", "dependency") and isinstance(item, str):
                    # A link fault's caller side names a service (only links from it),
                    # a request fault's dependency too.
                    check("service", item, (*loc, name))
                elif name == "url" and isinstance(item, str) and item.startswith("service://"):
                    # service://edge/health names a service too (HttpProbe, InvariantProbe).
                    check("service", item.removeprefix("service://").split("/", 1)[0],
                          (*loc, name))
                else:
                    walk(item, (*loc, name))
        elif isinstance(value, tuple | list):
            for index, item in enumerate(value):
                walk(item, (*loc, index))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*loc, str(key)))

    for name, info in Experiment.model_fields.items():
        # The topology checks its own internal names when it is validated.
        if name != "topology" and not info.exclude:
            walk(getattr(experiment, name), (name,))
    return problems + probe_problems(experiment)


def probe_problems(experiment: Experiment) -> list[tuple[Loc, str, str]]:
    """Probes that cannot read on this machine, known before anything runs.

    A command probe whose program is not found (a templated program name is
    judged when it reads), and a prometheus probe with no ``url`` in an
    experiment that starts no Prometheus of its own.
    """
    problems: list[tuple[Loc, str, str]] = []
    own_prometheus = bool(getattr(experiment.observability, "prometheus", False))
    for section in ("steady_state", "guardrails"):
        for index, entry in enumerate(getattr(experiment, section)):
            probe, loc = entry.probe, (section, index, "probe")
            if isinstance(probe, CommandProbe):
                program = probe.command[0]
                if "{" not in program and not _runnable(program, experiment.base_dir):
                    problems.append(((*loc, "command", 0), program,
                                     f"command probe {entry.name!r}: {program!r} not found "
                                     "(not on PATH, or not executable)"))
            elif isinstance(probe, PrometheusProbe) and probe.url is None \
                    and not own_prometheus:
                problems.append(((*loc, "query"), probe.query,
                                 f"prometheus probe {entry.name!r}: no url, and the experiment "
                                 "starts no Prometheus (set url:, or observability: "
                                 "{prometheus: true})"))
    return problems


def _runnable(program: str, base_dir: str) -> bool:
    if os.sep not in program:
        return shutil.which(program) is not None
    path = Path(base_dir, program)
    return path.is_file() and os.access(path, os.X_OK)


def _listing(names: list[str]) -> str:
    if len(names) <= MAX_LISTED:
        return ", ".join(names)
    return f"{', '.join(names[:MAX_LISTED])} ... ({len(names)} in all)"
