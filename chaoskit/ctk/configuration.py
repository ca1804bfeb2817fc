"""An experiment's ``configuration`` and ``secrets`` → the values activities see.

As in chaostoolkit-lib: literals are taken as written, ``{type: env, key}``
reads the environment when the run starts (``default`` when unset,
``env_var_type`` converts), and a missing variable without a default is an
error before anything runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from chaoskit.ctk.model import CtkExperiment, EnvValue
from chaoskit.errors import ConfigError


def load_values(experiment: CtkExperiment, environ: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None,
                ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(configuration, secrets by scope); ConfigError (exit 2) for a missing variable.

    ``overrides`` (``--var``) replace declared configuration values, an environment one
    included, as ``chaos run --var`` does; a name the experiment does not declare is
    ignored there too.
    """
    env = os.environ if environ is None else environ
    given = dict(overrides or {})
    configuration = {key: given[key] if key in given else
                     _value(value, env, experiment.source, f"configuration.{key}")
                     for key, value in experiment.configuration.items()}
    secrets = {scope: {key: _value(value, env, experiment.source, f"secrets.{scope}.{key}")
                       for key, value in entries.items()}
               for scope, entries in experiment.secrets.items()}
    return configuration, secrets


def _value(value: Any, env: Mapping[str, str], file: str | None, field: str) -> Any:
    if not isinstance(value, EnvValue):
        return value
    if value.key not in env and not value.has_default:
        raise ConfigError(f"environment variable {value.key} is not set and has no default",
                          file=file, field=field)
    raw = env.get(value.key, value.default)
    try:
        return convert(value.env_var_type, raw)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"environment variable {value.key}={raw!r} is not "
                          f"{value.env_var_type}: {error}", file=file, field=field) from None


def convert(kind: str | None, raw: Any) -> Any:
    """chaostoolkit-lib's ``convert_to_type``."""
    if kind is None or kind in ("str", "string"):
        return raw
    if kind in ("int", "integer"):
        return int(raw)
    if kind in ("float", "number"):
        return float(raw)
    if kind == "bytes":
        return str(raw).encode("utf-8")
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        return str(raw).lower() not in ("false", "0", "no")
    if kind == "json":
        return json.loads(raw) if isinstance(raw, str) and raw else raw
    raise ValueError(f"unknown env_var_type {kind!r}")


def parse_var(text: str) -> tuple[str, Any]:
    """``--var KEY[:TYPE]=VALUE`` as ``chaos run`` reads it (TYPE: int, float, bytes, str)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"--var {text!r}: expected KEY=VALUE or KEY:TYPE=VALUE")
    name, _, kind = key.partition(":")
    if kind not in ("", "str", "int", "float", "bytes"):
        raise ConfigError(f"--var {text!r}: type {kind!r} is not one of int, float, bytes, str")
    try:
        return name, convert(kind or None, value)
    except ValueError as error:
        raise ConfigError(f"--var {text!r}: {error}") from None
