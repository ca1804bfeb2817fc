"""A toxic as configured on a proxy, decoded and validated from its JSON."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoskit.proxy.server.errors import ApiError
from chaoskit.proxy.server.toxics import TOXIC_TYPES, Toxic, attributes_json, decode_attributes
from chaoskit.proxy.server.toxics.base import lookup

STREAMS = ("upstream", "downstream")


@dataclass(frozen=True)
class ToxicEntry:
    name: str
    type: str
    stream: str
    """As given (Toxiproxy echoes ``"UpStream"`` back), matched case-insensitively."""
    direction: str
    """``stream`` normalised: ``upstream`` or ``downstream``."""
    toxicity: float
    toxic: Toxic

    def to_json(self) -> dict[str, Any]:
        # Toxiproxy's key order: attributes first.
        return {"attributes": attributes_json(self.toxic), "name": self.name, "type": self.type,
                "stream": self.stream, "toxicity": self.toxicity}

    @classmethod
    def from_json(cls, body: object) -> ToxicEntry:
        """Toxiproxy's create order: stream, default name, type, then attributes."""
        if not isinstance(body, Mapping):
            raise ApiError("bad request body: expected a JSON object", 400)
        stream = _string(body, "stream", "downstream")
        if stream.lower() not in STREAMS:
            raise ApiError("stream was invalid, can be either upstream or downstream", 400)
        type_name = _string(body, "type", "")
        name = _string(body, "name", "") or f"{type_name}_{stream}"
        cls_ = TOXIC_TYPES.get(type_name)
        if cls_ is None:
            raise ApiError("invalid toxic type", 400)
        toxicity = _toxicity(body, 1.0)
        try:
            toxic = decode_attributes(cls_, lookup(body, "attributes")[1])
        except ValueError as error:
            raise ApiError(f"bad request body: {error}", 400) from None
        return cls(name, type_name, stream, stream.lower(), toxicity, toxic)

    def check(self) -> None:
        """Reject attributes that would hang or crash the toxic (400)."""
        problems = self.toxic.validate()
        if problems:
            raise ApiError(f"invalid {self.type} attributes: {'; '.join(problems)}", 400)

    def updated(self, body: object) -> ToxicEntry:
        """A partial update: given attributes merge onto the current ones; toxicity is kept
        unless given; name, type and stream never change."""
        if not isinstance(body, Mapping):
            raise ApiError("bad request body: expected a JSON object", 400)
        toxicity = _toxicity(body, self.toxicity)
        try:
            toxic = decode_attributes(type(self.toxic), lookup(body, "attributes")[1], self.toxic)
        except ValueError as error:
            raise ApiError(f"bad request body: {error}", 400) from None
        return dataclasses.replace(self, toxicity=toxicity, toxic=toxic)


def _string(body: Mapping[str, Any], key: str, default: str) -> str:
    found, value = lookup(body, key)
    if not found or value is None:
        return default
    if not isinstance(value, str):
        raise ApiError(f"bad request body: {key} must be a string", 400)
    return value


def _toxicity(body: Mapping[str, Any], default: float) -> float:
    found, value = lookup(body, "toxicity")
    if not found or value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ApiError("bad request body: toxicity must be a number", 400)
    if not 0.0 <= value <= 1.0:
        raise ApiError(f"toxicity must be between 0 and 1, got {value}", 400)
    return float(value)
