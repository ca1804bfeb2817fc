"""The base every model class shares: frozen, strict about unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Frozen data with no unknown fields: a typo in YAML is an error, not a no-op."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
