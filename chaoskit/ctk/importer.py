"""``chaoskit import ctk FILE``: a Chaos Toolkit experiment as chaoskit YAML.

Two outcomes, decided for the whole file:

- **native**: every hypothesis probe and every method activity has a chaoskit
  form, there are no rollbacks and the hypothesis strategy is the default. The
  output is a chaoskit experiment (``steady_state``, ``method``) that
  ``chaoskit validate`` accepts.
- **kept as CTK**: otherwise. A chaoskit experiment cannot hold CTK activities,
  and half an experiment in each format would run neither hypothesis whole, so
  the output stays a CTK experiment, re-written as YAML exactly as declared
  (``chaoskit run`` runs it through the CTK engine, with chaoskit's reverts,
  reports and verdicts). Its header comment lists, activity by activity, the
  native chaoskit form of what has one and why the rest has none, so the
  experiment can be moved over by hand one activity at a time.

Native forms:

- an ``http`` probe (GET, no headers, arguments or secrets) whose tolerance is a
  status (``200`` or ``[200]``) → a chaoskit ``http`` probe with that ``status``;
- a ``process`` probe whose tolerance is an exit status → a ``command`` probe
  (a string of arguments runs through ``sh -c``, as CTK runs it with a shell);
- a ``process`` action ``pkill``/``killall`` of a name → ``instance_kill`` of
  every instance (``percent: 100``) of the service of that name; the action's
  ``pauses.after`` becomes the fault's duration. The service must exist in the
  topology the experiment is given (``topology=``), which CTK files do not name.

``${name}`` is resolved from literal configuration and inline secrets; a value
read from the environment at run time has no native form (chaoskit's YAML is
not substituted), so an activity that needs one stays CTK.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaoskit.ctk.load import load_ctk
from chaoskit.ctk.model import (
    Activity,
    CtkExperiment,
    EnvValue,
    HttpProvider,
    ProcessProvider,
    Ref,
)
from chaoskit.ctk.substitute import substitute
from chaoskit.loader.safe_yaml import read_yaml

KILLERS = ("pkill", "killall")
DEFAULT_FAULT_SECONDS = 10.0
"""How long an imported kill is held when the CTK action has no pause after it: CTK's
method ends at once, chaoskit's fault lasts ``duration`` before it is reverted."""

_UNRESOLVED = re.compile(r"\$\{[^}]*\}")


@dataclass
class _Plan:
    """What each part of the experiment becomes."""

    steady_state: list[dict[str, Any]] = field(default_factory=list)
    method: list[dict[str, Any]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """One line per part with no native form, saying why."""

    @property
    def native(self) -> bool:
        return not self.kept and bool(self.steady_state)


def import_ctk(path: Path, topology: str | None = None) -> str:
    """The chaoskit YAML for the CTK experiment at ``path`` (see the module doc).

    ``topology`` is written into a native experiment (chaoskit resolves it beside the
    output file, as for any experiment). Raises ``ConfigError`` for a malformed file.
    """
    experiment = load_ctk(path)
    plan = _plan(experiment)
    if plan.native:
        return _native_yaml(path, experiment, plan, topology)
    return _kept_yaml(path, plan)


def _plan(experiment: CtkExperiment) -> _Plan:
    values = _literal_values(experiment)
    plan = _Plan()
    if not experiment.hypothesis_probes:
        plan.kept.append("steady-state-hypothesis: no probes (a chaoskit experiment needs a "
                         "steady state)")
    for probe in experiment.hypothesis_probes:
        native = _native_probe(probe, values)
        if isinstance(native, str):
            plan.kept.append(f"steady-state-hypothesis probe {probe.name!r}: {native}")
        else:
            plan.steady_state.append(native)
    for index, item in enumerate(experiment.method):
        activity = experiment.resolve(item)
        label = f"method[{index}] {activity.type} {activity.name!r}"
        if isinstance(item, Ref):
            plan.kept.append(f"{label}: a ref (a chaoskit fault is declared once)")
            continue
        fault = _native_fault(activity, values)
        if isinstance(fault, str):
            plan.kept.append(f"{label}: {fault}")
        else:
            plan.method.append(fault)
    if experiment.rollbacks:
        plan.kept.append("rollbacks: chaoskit faults revert themselves; CTK rollbacks have no "
                         "native form")
    strategy = experiment.runtime.hypothesis.strategy
    if strategy != "default":
        plan.kept.append(f"runtime.hypothesis.strategy {strategy}: chaoskit checks before, "
                         "during and after")
    if experiment.runtime.rollbacks.strategy != "default":
        plan.kept.append(f"runtime.rollbacks.strategy {experiment.runtime.rollbacks.strategy}: "
                         "chaoskit always reverts")
    return plan


def _literal_values(experiment: CtkExperiment) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Configuration and secrets known before the run: literals, not env look-ups."""
    configuration = {k: v for k, v in experiment.configuration.items()
                     if not isinstance(v, EnvValue)}
    secrets = {scope: {k: v for k, v in keys.items() if not isinstance(v, EnvValue)}
               for scope, keys in experiment.secrets.items()}
    return configuration, secrets


def _resolved(data: Any, values: tuple[dict[str, Any], dict[str, dict[str, Any]]]) -> Any:
    """``data`` substituted, or None if a ``${name}`` is left (an env value, or unknown)."""
    result = substitute(data, *values)
    return None if _UNRESOLVED.search(repr(result)) else result


def _native_probe(probe: Activity, values: tuple[dict[str, Any], dict[str, dict[str, Any]]]
                  ) -> dict[str, Any] | str:
    """The chaoskit steady-state probe for a CTK hypothesis probe, or why there is none."""
    provider = probe.provider
    status = _status_tolerance(probe.tolerance)
    if isinstance(provider, HttpProvider):
        if status is None:
            return "an http tolerance other than one status"
        if provider.method.upper() != "GET" or provider.headers or provider.arguments \
                or provider.secrets:
            return "an http call other than a plain GET"
        url = _resolved(provider.url, values)
        if not isinstance(url, str):
            return "its url needs a value from the environment"
        native: dict[str, Any] = {"name": probe.name, "probe": "http", "url": url,
                                  "status": status}
        if isinstance(provider.timeout, int | float):
            native["timeout"] = provider.timeout
        # The http probe reads 1.0 when the answer matches, 0.0 otherwise.
        native["tolerance"] = {"equals": 1}
        return native
    if isinstance(provider, ProcessProvider):
        if status is None:
            return "a process tolerance other than one exit status"
        command = _command(provider, values)
        if isinstance(command, str):
            return command
        native = {"name": probe.name, "probe": "command", "command": command}
        if provider.timeout is not None:
            native["timeout"] = provider.timeout
        native["tolerance"] = {"equals": status}
        return native
    return f"a {provider.type} provider ({provider.module}.{provider.func}) has no chaoskit form"


def _status_tolerance(tolerance: object) -> int | None:
    """The one status a tolerance accepts: ``200``, or ``[200]`` (CTK tests membership)."""
    if isinstance(tolerance, bool):
        return None
    if isinstance(tolerance, int):
        return tolerance
    if isinstance(tolerance, list) and len(tolerance) == 1 \
            and isinstance(tolerance[0], int) and not isinstance(tolerance[0], bool):
        return tolerance[0]
    return None


def _command(provider: ProcessProvider,
             values: tuple[dict[str, Any], dict[str, dict[str, Any]]]) -> list[str] | str:
    arguments = _resolved(provider.arguments, values)
    path = _resolved(provider.path, values)
    if not isinstance(path, str) or (provider.arguments is not None and arguments is None):
        return "its command needs a value from the environment"
    if arguments is None:
        return [path]
    if isinstance(arguments, str):
        # CTK runs a string of arguments through a shell; so does the command probe here.
        return ["sh", "-c", f"{shlex.quote(path)} {arguments}"]
    if isinstance(arguments, list) and all(isinstance(a, str | int | float) for a in arguments):
        return [path, *(str(a) for a in arguments)]
    return "process arguments given as a mapping (deprecated in CTK)"


def _native_fault(activity: Activity, values: tuple[dict[str, Any], dict[str, dict[str, Any]]]
                  ) -> dict[str, Any] | str:
    """The chaoskit fault for a CTK method activity, or why there is none."""
    provider = activity.provider
    if activity.type == "probe":
        return "a method probe only collects data; chaoskit records its own readings"
    if activity.background:
        return "a background action"
    if not isinstance(provider, ProcessProvider) or Path(provider.path).name not in KILLERS:
        return f"a {provider.type} action other than pkill/killall has no chaoskit fault"
    command = _command(provider, values)
    if isinstance(command, str):
        return command
    words = shlex.split(command[2])[1:] if command[:2] == ["sh", "-c"] else command[1:]
    names = [w for w in words if not w.startswith("-")]
    if len(names) != 1 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", names[0]):
        return "a kill of something other than one service name"
    after = activity.pauses.after if activity.pauses else None
    duration = after if isinstance(after, int | float) and after > 0 else DEFAULT_FAULT_SECONDS
    return {"fault": "instance_kill", "service": names[0], "percent": 100,
            "duration": f"{duration:g}s", "label": activity.name}


def _native_yaml(path: Path, experiment: CtkExperiment, plan: _Plan,
                 topology: str | None) -> str:
    document: dict[str, Any] = {"title": experiment.title,
                                "description": experiment.description}
    if topology is not None:
        document["topology"] = topology
    document["steady_state"] = plan.steady_state
    if plan.method:
        document["method"] = plan.method
    if experiment.allow_hosts:
        document["settings"] = {"allow_hosts": list(experiment.allow_hosts)}
    header = [f"Imported from {path.name} by chaoskit import ctk.",
              "Every part has a native chaoskit form."]
    if plan.method and topology is None:
        header.append("instance_kill needs the topology of the services it kills: add "
                      "'topology: FILE'.")
    return _comment(header) + _dump(document)


def _kept_yaml(path: Path, plan: _Plan) -> str:
    header = [f"Imported from {path.name} by chaoskit import ctk.",
              "Kept as a Chaos Toolkit experiment ('chaoskit run' runs it as one).",
              "No native chaoskit form for:"]
    header += [f"  - {line}" for line in plan.kept]
    native = {k: v for k, v in (("steady_state", plan.steady_state), ("method", plan.method))
              if v}
    if native:
        header.append("Native chaoskit forms of the rest, to move into a chaoskit experiment:")
        header += ["  " + line for line in _dump(native).splitlines()]
    original = read_yaml(path, str(path)).value
    return _comment(header) + _dump(original)


def _comment(lines: list[str]) -> str:
    wrapped: list[str] = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()))
        # Dumped YAML keeps its own lines; prose is wrapped to the file's width.
        if line.lstrip().startswith("- ") or not line.startswith("  "):
            wrapped += textwrap.wrap(line, width=98, subsequent_indent=indent + "    ") or [""]
        else:
            wrapped.append(line)
    return "".join(f"# {line}".rstrip() + "\n" for line in wrapped)


def _dump(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100,
                          default_flow_style=None)
