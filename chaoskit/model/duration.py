"""Durations as users write them ("500ms", "10s", "2m", "1h", or a number of seconds)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_seconds(value: object) -> float:
    """Return a duration in seconds, or raise ValueError with what was expected."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 10s, 500ms or 2m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    raise ValueError(f"expected a duration such as 10s, 500ms or 2m, got {value!r}")


def format_seconds(seconds: float) -> str:
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    return f"{seconds:g}s"


Duration = Annotated[
    float,
    BeforeValidator(parse_seconds),
    PlainSerializer(format_seconds, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m|h)?$"},
                {"type": "number", "minimum": 0},
            ],
            "description": "a duration: 500ms, 10s, 2m, 1h, or seconds as a number",
        }
    ),
]
"""Seconds as a float in Python; "10s" in YAML and JSON."""
