"""The toxic protocol (Toxiproxy's ``Pipe``) and typed attribute decoding.

A toxic is a frozen dataclass whose fields are its JSON attributes (all
integers, units in the field docs) plus ``pipe(stub)``, a coroutine that moves
chunks from ``stub.recv()`` to ``stub.send()`` until end of stream or until it
is interrupted. Optional hooks default to nothing in :class:`ToxicBase`.

Unlike Toxiproxy, attributes are validated: ``validate()`` returns the
problems, and the API answers 400 instead of running a toxic that would hang,
spin or crash (rate 0, slicer average_size 0, negative times).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    from chaoskit.proxy.server.stub import Stub

MAX_MS = 86_400_000
"""A day: longer delays are surely a unit mistake (and overflow some timers)."""


class Toxic(Protocol):
    type_name: ClassVar[str]
    buffer_size: ClassVar[int]

    def validate(self) -> list[str]:
        """Problems with the attributes, empty when they are usable."""
        ...

    async def pipe(self, stub: Stub) -> None:
        """Carry chunks until end of stream (return) or interruption (raise ``Interrupted``)."""
        ...

    def cleanup(self, stub: Stub) -> None:
        """Called on each live link when the toxic is removed."""
        ...

    def new_state(self) -> object:
        """Per-link state kept across updates (``stub.state``)."""
        ...


class ToxicBase:
    """Defaults for the optional parts of :class:`Toxic`."""

    buffer_size: ClassVar[int] = 4
    """Chunks queued in front of the toxic before the reader is paused."""

    def cleanup(self, stub: Stub) -> None:
        return None

    def new_state(self) -> object:
        return None


def non_negative(toxic: object, *names: str, limit: int = MAX_MS) -> list[str]:
    problems = []
    for name in names:
        value = getattr(toxic, name)
        if value < 0:
            problems.append(f"{name} must be >= 0, got {value}")
        elif value > limit:
            problems.append(f"{name} must be <= {limit}, got {value}")
    return problems


T = TypeVar("T")


def decode_attributes(cls: type[T], raw: object, base: T | None = None) -> T:
    """Build ``cls`` from JSON attributes, merging onto ``base`` for a partial update.

    Keys match field names case-insensitively (as Go's encoding/json does);
    unknown keys are ignored; missing ones keep ``base``'s value or default 0.
    Raises ``ValueError`` on a non-object or a non-integer value.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ValueError("attributes must be a JSON object")
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        found, value = lookup(raw, field.name)
        if not found:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"attribute {field.name} must be an integer, got {value!r}")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"attribute {field.name} must be an integer, got {value!r}")
            value = int(value)
        values[field.name] = value
    if base is not None:
        return dataclasses.replace(base, **values)  # type: ignore[type-var]
    return cls(**values)


def lookup(raw: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """``raw[key]``, preferring an exact match, else a case-insensitive one (Go's rule)."""
    if key in raw:
        return True, raw[key]
    folded = key.casefold()
    for name, value in raw.items():
        if isinstance(name, str) and name.casefold() == folded:
            return True, value
    return False, None


def attributes_json(toxic: object) -> dict[str, Any]:
    return dataclasses.asdict(toxic)  # type: ignore[call-overload, no-any-return]
