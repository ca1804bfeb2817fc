"""What must hold before a CTK run starts, checked once (CTK's ``chaos validate`` checks).

Every program is on PATH, every Python function imports and takes its
arguments, and every HTTP call goes to this machine or a host the experiment's
``chaoskit`` extension allows. A failure is bad input (exit 2) naming the
field, found before any activity has run rather than halfway through the method.
"""

from __future__ import annotations

from typing import Any

from chaoskit.ctk.model import (
    Activity,
    CtkExperiment,
    HttpProvider,
    ProbeTolerance,
    ProcessProvider,
    Provider,
    PythonProvider,
    Ref,
)
from chaoskit.ctk.providers.http import refused_host
from chaoskit.ctk.providers.process import resolve_path
from chaoskit.ctk.providers.python import load_function
from chaoskit.ctk.substitute import substitute
from chaoskit.errors import ConfigError
from chaoskit.loader.diagnostics import combine


def preflight(experiment: CtkExperiment, configuration: dict[str, Any],
              secrets: dict[str, dict[str, Any]]) -> None:
    errors = []
    for where, provider in _providers(experiment):
        problem = _check(provider, experiment, configuration, secrets)
        if problem is not None:
            errors.append(ConfigError(problem, file=experiment.source, field=where))
    if errors:
        raise combine(errors)


def _providers(experiment: CtkExperiment) -> list[tuple[str, Provider]]:
    found: list[tuple[str, Provider]] = []

    def add(where: str, item: Activity | Ref) -> None:
        if isinstance(item, Ref):
            return  # checked where it is declared
        found.append((f"{where}.provider", item.provider))
        if isinstance(item.tolerance, ProbeTolerance):
            tolerance = item.tolerance
            found.append((f"{where}.tolerance.provider", _with_value(tolerance)))

    for index, probe in enumerate(experiment.hypothesis_probes):
        add(f"steady-state-hypothesis.probes[{index}]", probe)
    for part in ("method", "rollbacks"):
        for index, item in enumerate(getattr(experiment, part)):
            add(f"{part}[{index}]", item)
    return found


def _with_value(tolerance: ProbeTolerance) -> Provider:
    # The reading is passed as ``value`` at run time; bind as if it were there.
    provider = tolerance.provider
    if isinstance(provider, PythonProvider):
        return provider.model_copy(update={"arguments": {**provider.arguments, "value": None}})
    return provider


def _check(provider: Provider, experiment: CtkExperiment, configuration: dict[str, Any],
           secrets: dict[str, dict[str, Any]]) -> str | None:
    if isinstance(provider, HttpProvider):
        url = substitute(provider.url, configuration, secrets)
        host = refused_host(str(url), experiment.allow_hosts)
        if host is not None:
            return (f"{url}: {host!r} is not this machine; chaoskit sends only to 127.0.0.1 "
                    "unless the experiment allows the host (extensions: [{name: chaoskit, "
                    "allow_hosts: [HOST]}])")
        return None
    if isinstance(provider, ProcessProvider):
        if resolve_path(provider) is None:
            return f"path {provider.path!r} cannot be found (not a file, nor on PATH)"
        return None
    try:
        load_function(provider)
    except ValueError as error:
        return str(error)
    return None
