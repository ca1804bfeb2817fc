"""What a probe's reading must be for the hypothesis to hold."""

from __future__ import annotations

import re
from typing import Any

from pydantic import model_validator

from chaoskit.model.base import Model


class Tolerance(Model):
    """Bounds on a reading: ``{min: 0.99}``, ``{max: 500}``, both, or ``{equals: 0}``.

    A reading of ``None`` (no data in the window) never holds: silence is not
    success.
    """

    min: float | None = None
    max: float | None = None
    equals: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        """Journals of schema 1 stored tolerances as text (">= 0.99 and <= 5"): read it back."""
        if not isinstance(data, str):
            return data
        bounds: dict[str, float] = {}
        for part in data.split(" and "):
            match = _TEXT.fullmatch(part.strip())
            if match is None:
                raise ValueError(f"not a tolerance: {data!r}")
            bounds[_TEXT_KEYS[match["op"]]] = float(match["number"])
        return bounds

    @model_validator(mode="after")
    def _one_kind(self) -> Tolerance:
        if self.equals is not None and (self.min is not None or self.max is not None):
            raise ValueError("use either equals or min/max, not both")
        if self.equals is None and self.min is None and self.max is None:
            raise ValueError("expected at least one of min, max or equals")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def accepts(self, value: float | None) -> bool:
        """True when ``value`` lies within the bounds (inclusive)."""
        if value is None:
            return False
        if self.equals is not None:
            return value == self.equals
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)

    def describe(self) -> str:
        if self.equals is not None:
            return f"== {self.equals:g}"
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return " and ".join(parts)

    def __str__(self) -> str:
        return self.describe()


_TEXT = re.compile(r"(?P<op>==|>=|<=) (?P<number>\S+)")
_TEXT_KEYS = {"==": "equals", ">=": "min", "<=": "max"}
