"""Experiments from YAML or Python files → the model, with ``file:line: field:`` errors.

``load_experiment`` is the one entry point the CLI, the runner and the pytest
plugin use. Relative paths in an experiment (``topology:``, ``load.locustfile``)
resolve against the working directory first, then the experiment file's
directory, then its parents upward; the first that holds the file wins.
"""

from __future__ import annotations

from pathlib import Path

from chaoskit.errors import ConfigError
from chaoskit.loader.documents import load_yaml_experiment, read_topology_file
from chaoskit.loader.paths import Resolved
from chaoskit.loader.python_file import load_python_experiment, load_topology
from chaoskit.loader.safe_yaml import read_yaml
from chaoskit.loader.schema import experiment_json_schema
from chaoskit.model.experiment import Experiment
from chaoskit.model.topology import Topology

__all__ = ["experiment_json_schema", "load_experiment", "load_file", "load_topology"]


def load_file(path: str | Path) -> Experiment | Topology:
    """An experiment, or a topology file on its own (``chaoskit validate topology.yaml``):
    a YAML mapping with ``services`` and no ``title`` is a topology."""
    target = Path(path)
    if target.suffix.lower() in (".yaml", ".yml") and target.is_file():
        document = read_yaml(target, str(path))
        if isinstance(document.value, dict) and "services" in document.value \
                and "title" not in document.value:
            found = target.absolute()
            return read_topology_file(Resolved(path=found, root=found.parent))
    return load_experiment(path)


def load_experiment(path: str | Path) -> Experiment:
    """Load, validate and cross-check an experiment without running anything.

    - ``.yaml``/``.yml``: parsed safely (no tags, aliases or duplicate keys;
      size and depth bounded), validated, every error located by line.
    - ``.py``: imported; its module-level ``experiment`` is taken.

    Topology names used by faults and probes (zone, region, service,
    instance) must exist. The result carries ``source`` (``path`` as given)
    and ``base_dir`` (the directory the topology reference resolved against;
    for an inline topology, the experiment's directory). ``load.locustfile``
    comes back absolute; so does ``topology.workdir``, resolved against the
    directory of the file that declares the topology.

    Raises :class:`ConfigError` for every problem, never anything else for bad input.
    """
    file = str(path)
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".yaml", ".yml", ".py"):
        raise ConfigError("expected a .yaml, .yml or .py file", file=file)
    if not target.is_file():
        raise ConfigError("no such file" if not target.exists() else "not a file", file=file)
    if suffix == ".py":
        return load_python_experiment(target, file)
    return load_yaml_experiment(target, file)
