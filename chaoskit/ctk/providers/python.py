"""``type: python``: a function of an importable module, called as chaostoolkit-lib calls it.

Arguments are substituted and passed as keywords; ``configuration`` (a copy)
and ``secrets`` (the scopes the provider names, merged) are passed when the
function declares parameters of those names. Anything it raises fails the
activity; its return value is the output.
"""

from __future__ import annotations

import importlib
import inspect
import traceback
from collections.abc import Callable
from typing import Any

from chaoskit.ctk.errors import ActivityFailed
from chaoskit.ctk.model import PythonProvider
from chaoskit.ctk.substitute import Configuration, Secrets, substitute


def load_function(provider: PythonProvider) -> Callable[..., Any]:
    """The function, or ValueError saying why it cannot be called with these arguments."""
    try:
        module = importlib.import_module(provider.module)
    except Exception as error:  # an import error inside the module is the user's to see
        raise ValueError(f"cannot import {provider.module}: "
                         f"{traceback.format_exception_only(type(error), error)[-1].strip()}"
                         ) from None
    func = getattr(module, provider.func, None)
    if not callable(func):
        raise ValueError(f"{provider.module} has no function {provider.func!r}")
    arguments: dict[str, Any] = dict(provider.arguments)
    parameters = inspect.signature(func).parameters
    for injected in ("configuration", "secrets"):
        if injected in parameters and injected not in arguments:
            arguments[injected] = None
    try:
        inspect.signature(func).bind(**arguments)
    except TypeError as error:
        raise ValueError(f"{provider.module}.{provider.func}: {error}") from None
    return func  # type: ignore[no-any-return]


def run_python(provider: PythonProvider, configuration: Configuration, secrets: Secrets) -> Any:
    try:
        func = load_function(provider)
    except ValueError as error:
        raise ActivityFailed(str(error)) from None
    arguments = dict(substitute(dict(provider.arguments), configuration, secrets) or {})
    parameters = inspect.signature(func).parameters
    if "secrets" in provider.model_fields_set and "secrets" in parameters:
        merged: dict[str, Any] = {}
        for scope in provider.secrets:
            merged.update(secrets.get(scope, {}))
        arguments["secrets"] = merged
    if "configuration" in parameters:
        arguments["configuration"] = dict(configuration)
    try:
        return func(**arguments)
    except Exception as error:
        raise ActivityFailed(
            traceback.format_exception_only(type(error), error)[0].strip()) from error
