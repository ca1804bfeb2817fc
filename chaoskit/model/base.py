"""The base every model class shares: frozen, strict about unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Frozen data with no unknown fields: a typo in YAML is an error, not a no-op."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class FieldError(ValueError):
    """A model validator's error about one field below the model: ``loc`` says which, so
    the loader points at that field's line (``services[2].health``), not the model's."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        # Built in Python, the model's own error shows only this text: it names the field.
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
        super().__init__(f"{where.lstrip('.')}: {message}")
        self.loc = loc
        self.message = message
