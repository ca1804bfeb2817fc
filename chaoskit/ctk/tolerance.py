"""Whether a probe's output is within its CTK tolerance (chaostoolkit-lib's ``within_tolerance``).

The rules, kept as CTK has them so both judge a run alike, quirks included:

- ``true``/``false``, a string: equality (a string tolerance is substituted first);
- an integer: equality, or equality with ``status`` when the output is a process or
  HTTP output (a mapping with ``status``);
- a list: membership of ``status`` for such outputs; otherwise a two-item list is an
  inclusive range and any other list a membership test;
- ``range``: the number (or numeric text) at ``target`` within inclusive bounds;
- ``regex``: a ``re.search`` on the text at ``target``;
- ``jsonpath``: matches of the path (JSON text and bytes parsed first): at least one,
  exactly ``count``, or exactly ``expect``;
- ``probe``: a probe called with the output as its ``value`` argument; truthy is met.

Where CTK would crash on a mismatched type (a regex against a number, a range
against a mapping), the tolerance is simply not met.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import TypeAdapter, ValidationError

from chaoskit.ctk.errors import ActivityFailed
from chaoskit.ctk.model import (
    JsonPathTolerance,
    ProbeTolerance,
    RangeTolerance,
    RegexTolerance,
    Tolerance,
    parse_jsonpath,
)
from chaoskit.ctk.substitute import Configuration, Secrets, substitute

_ADAPTER: TypeAdapter[Tolerance] = TypeAdapter(Tolerance)

ProbeCaller = Callable[[ProbeTolerance, Any], Any]
"""Runs a probe tolerance with the value injected; raises ActivityFailed when it fails."""


def parse_tolerance(data: object) -> Tolerance:
    """A tolerance as written in an experiment (JSON/YAML value) → its typed form.

    Raises ``ValueError`` (a pydantic ``ValidationError``) for what CTK's
    ``ensure_hypothesis_tolerance_is_valid`` refuses: an unknown type, a
    regex without a valid pattern, an empty JSON path, non-numeric range bounds.
    """
    return _ADAPTER.validate_python(data)


def is_valid_tolerance(data: object) -> bool:
    try:
        parse_tolerance(data)
    except ValidationError:
        return False
    return True


def tolerance_holds(tolerance: Tolerance, value: Any, *,
                    configuration: Configuration | None = None,
                    secrets: Secrets | None = None,
                    call_probe: ProbeCaller | None = None) -> bool:
    """True when ``value`` (a probe's output) is within ``tolerance``."""
    configuration = configuration or {}
    secrets = secrets or {}
    if isinstance(tolerance, bool):
        return bool(value == tolerance)
    if isinstance(tolerance, int):
        if isinstance(value, dict) and "status" in value:
            return bool(value["status"] == tolerance)
        return bool(value == tolerance)
    if isinstance(tolerance, str):
        return bool(value == substitute(tolerance, configuration, secrets))
    if isinstance(tolerance, list):
        return _list(tolerance, value)
    if isinstance(tolerance, RangeTolerance):
        return _range(tolerance, _target(value, tolerance.target))
    if isinstance(tolerance, RegexTolerance):
        pattern = substitute(tolerance.pattern, configuration, secrets)
        text = _target(value, tolerance.target)
        if not isinstance(pattern, str) or not isinstance(text, str):
            return False
        try:
            return re.search(pattern, text) is not None
        except re.error:
            return False
    if isinstance(tolerance, JsonPathTolerance):
        return _jsonpath(tolerance, value, configuration, secrets)
    return _probe(tolerance, value, call_probe or _default_probe_caller(configuration, secrets))


def describe_tolerance(tolerance: Tolerance) -> str:
    """The tolerance in one line, as a report shows it."""
    if isinstance(tolerance, bool | int | str | list):
        return json.dumps(tolerance)
    if isinstance(tolerance, RangeTolerance):
        where = f" of {tolerance.target}" if tolerance.target else ""
        return f"range{where} [{tolerance.range[0]}, {tolerance.range[1]}]"
    if isinstance(tolerance, RegexTolerance):
        where = f" on {tolerance.target}" if tolerance.target else ""
        return f"regex{where} /{tolerance.pattern}/"
    if isinstance(tolerance, JsonPathTolerance):
        what = (f" = {json.dumps(tolerance.expect)}" if tolerance.has_expect else
                f" count {tolerance.count}" if tolerance.count is not None else "")
        return f"jsonpath {tolerance.path}{what}"
    return f"probe {tolerance.name or tolerance.provider.type}"


def _list(tolerance: list[Any], value: Any) -> bool:
    if isinstance(value, dict) and "status" in value:
        return value["status"] in tolerance
    if len(tolerance) == 2:
        try:
            return bool(tolerance[0] <= value <= tolerance[1])
        except TypeError:
            return False
    try:
        return value in tolerance
    except TypeError:
        return False


def _target(value: Any, target: str | None) -> Any:
    if target and isinstance(value, dict):
        return value.get(target, value)
    return value


def _range(tolerance: RangeTolerance, value: Any) -> bool:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return False
    low, high = tolerance.range
    return Decimal(low) <= number <= Decimal(high)


def _jsonpath(tolerance: JsonPathTolerance, value: Any, configuration: Configuration,
              secrets: Secrets) -> bool:
    path = substitute(tolerance.path, configuration, secrets)
    value = _target(value, tolerance.target)
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
    try:
        matches = [m.current_value for m in parse_jsonpath(str(path).strip()).match(value)]
    except ValueError:
        return False
    result = len(matches) > 0
    if tolerance.count is not None:
        result = len(matches) == tolerance.count
    if tolerance.has_expect:
        expect = substitute(tolerance.expect, configuration, secrets)
        result = matches == (expect if isinstance(expect, list) else [expect])
    return result


def _probe(tolerance: ProbeTolerance, value: Any, call_probe: ProbeCaller) -> bool:
    try:
        return bool(call_probe(tolerance, value))
    except ActivityFailed:
        return False


def _default_probe_caller(configuration: Configuration, secrets: Secrets) -> ProbeCaller:
    def call(tolerance: ProbeTolerance, value: Any) -> Any:
        from chaoskit.ctk.providers import run_provider

        provider = tolerance.provider
        arguments = dict(getattr(provider, "arguments", None) or {})
        arguments["value"] = value
        return run_provider(provider.model_copy(update={"arguments": arguments}),
                            configuration, secrets)

    return call
