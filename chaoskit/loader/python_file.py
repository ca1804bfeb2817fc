"""Python experiments: a module whose top-level ``experiment`` is an :class:`Experiment`.

A Python file is imported (run), so anything it raises is reported as
``file:line: message`` from the traceback's frame in that file, never as a
traceback: a broken import must not read as "module not found" (chaostoolkit's
lib#271).
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
import traceback
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType, TracebackType

from pydantic import BaseModel, ValidationError

import chaoskit.model as model_module
from chaoskit.errors import ConfigError
from chaoskit.loader.diagnostics import from_validation_error
from chaoskit.loader.documents import check_references, finish_topology, read_topology_file
from chaoskit.loader.paths import NotFound, resolve, shown
from chaoskit.loader.safe_yaml import YamlPath
from chaoskit.model.experiment import Experiment
from chaoskit.model.topology import Topology

_counter = itertools.count()
_roots: ContextVar[dict[int, Path] | None] = ContextVar("chaoskit_topology_roots", default=None)
"""While a Python experiment is imported: id(topology) → where load_topology found it."""


def load_topology(path: str | Path) -> Topology:
    """Load a YAML topology file, for Python experiments.

    A relative ``path`` resolves like one in a YAML experiment: against the
    working directory, then the calling file's directory and its parents.
    ``workdir`` comes back absolute, so the topology works wherever it is run.
    """
    caller = sys._getframe(1)
    caller_file = caller.f_globals.get("__file__")
    referrer = Path(caller_file) if isinstance(caller_file, str) else None
    try:
        found = resolve(str(path), referrer)
    except NotFound as error:
        raise ConfigError(f"topology file {error}",
                          file=shown(referrer.absolute()) if referrer else None,
                          line=caller.f_lineno if referrer else None) from None
    topology = read_topology_file(found)
    roots = _roots.get()
    if roots is not None:
        roots[id(topology)] = found.root
    return topology


def load_python_experiment(path: Path, file: str) -> Experiment:
    """Import ``path`` and take its ``experiment``; ``file`` is the path as given."""
    module, roots = _import(path, file)
    experiment = getattr(module, "experiment", None)
    if experiment is None:
        raise ConfigError("defines no module-level 'experiment'; expected "
                          "experiment = chaoskit.Experiment(...)", file=file)
    if not isinstance(experiment, Experiment):
        raise ConfigError(f"'experiment' is a {type(experiment).__name__}, expected a "
                          "chaoskit.Experiment", file=file, line=_line_of_text(path, "experiment"))
    root = roots.get(id(experiment.topology), path.absolute().parent)
    # A topology built in Python gets the checks a YAML one gets (a cycle, its
    # workdir, relative to this file); one from load_topology() passes unchanged.
    updates: dict[str, object] = {"source": file, "base_dir": str(root)}
    if experiment.topology is not None:
        updates["topology"] = finish_topology(experiment.topology, root=root, file=file,
                                              line_of=lambda _path: None, at=("topology",))
    if experiment.load is not None:
        try:
            locustfile = resolve(experiment.load.locustfile, path).path
        except NotFound as error:
            raise ConfigError(f"locustfile {error}", file=file, field="load.locustfile",
                              line=_line_of_text(path, experiment.load.locustfile)) from None
        updates["load"] = experiment.load.model_copy(update={"locustfile": str(locustfile)})
    experiment = experiment.model_copy(update=updates)

    def line_of(loc: tuple[str | int, ...]) -> tuple[YamlPath, int | None]:
        value = _value_at(experiment, loc)
        return loc, _line_of_text(path, value) if isinstance(value, str) else None

    check_references(experiment, file, line_of)
    return experiment


def _import(path: Path, file: str) -> tuple[ModuleType, dict[int, Path]]:
    stem = re.sub(r"\W", "_", path.stem)
    name = f"_chaoskit_experiment_{next(_counter)}_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError("cannot be imported as a Python module", file=file)
    module = importlib.util.module_from_spec(spec)
    # Registered so that dataclasses and pickling inside the file find their module.
    sys.modules[name] = module
    roots: dict[int, Path] = {}
    token = _roots.set(roots)
    # As ``python FILE`` would: helper modules beside the experiment are importable.
    here = str(path.absolute().parent)
    added = here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        spec.loader.exec_module(module)
    except ConfigError:
        sys.modules.pop(name, None)
        raise
    except SyntaxError as error:
        sys.modules.pop(name, None)
        where = file if error.filename in (None, str(path)) else error.filename
        raise ConfigError(f"invalid Python: {error.msg}", file=where, line=error.lineno) from None
    except ValidationError as error:
        sys.modules.pop(name, None)
        model = getattr(model_module, error.title, None)
        is_model = isinstance(model, type) and issubclass(model, BaseModel)
        line = _line_in(error.__traceback__, path)
        raise from_validation_error(
            error, model=model if is_model else None, data=None,
            file=file, line_of=lambda _path: line, prefix=error.title,
        ) from None
    except Exception as error:
        sys.modules.pop(name, None)
        raise ConfigError(f"{type(error).__name__}: {error}", file=file,
                          line=_line_in(error.__traceback__, path)) from None
    finally:
        _roots.reset(token)
        if added and here in sys.path:
            sys.path.remove(here)
    return module, roots


def _line_in(tb: TracebackType | None, path: Path) -> int | None:
    """The line of the innermost traceback frame that lies in ``path``."""
    wanted = path.absolute()
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if Path(frame.f_code.co_filename).absolute() == wanted:
            line = lineno
    return line


def _value_at(value: object, loc: tuple[str | int, ...]) -> object:
    for part in loc:
        if isinstance(part, int):
            value = value[part] if isinstance(value, tuple | list) else None
        else:
            value = getattr(value, part, None)
    return value


def _line_of_text(path: Path, text: str) -> int | None:
    # A built model carries no line numbers; the first line quoting the value
    # is where the user wrote it, which is what the message needs.
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for number, line in enumerate(lines, 1):
        if f'"{text}"' in line or f"'{text}'" in line or re.match(rf"^{re.escape(text)}\b", line):
            return number
    return None

