"""pydantic ``ValidationError`` → ConfigError naming file, line and field in plain words.

pydantic's ``loc`` follows the model, not the YAML: discriminated unions add
their tag (``("method", 0, "zone_outage", "mode")``) and a steady-state entry
written flat in YAML is nested under ``probe``. The walk below follows the
model type and the YAML data side by side to recover the YAML path, and knows
at every step which model (and so which field names, which union tags) applies.
Nothing here lists fault or probe kinds: they are read from the unions.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from chaoskit.errors import ConfigError
from chaoskit.loader.safe_yaml import YamlPath, field_name
from chaoskit.model.base import FieldError

MAX_SHOWN = 5
"""More errors than this are counted, not listed: the first few are what gets fixed first."""


class ConfigErrors(ConfigError):
    """Several problems in one file, each rendered on its own line with its own line number."""

    def __init__(self, errors: Sequence[ConfigError], hidden: int = 0) -> None:
        self.errors = tuple(errors)
        self.hidden = hidden
        first = self.errors[0]
        super().__init__(first.message, file=first.file, line=first.line, field=first.field)

    def render(self) -> str:
        lines = [error.render() for error in self.errors]
        if self.hidden:
            lines.append(f"... and {self.hidden} more error{'s' * (self.hidden > 1)}")
        return "\n".join(lines)


def combine(errors: Sequence[ConfigError]) -> ConfigError:
    """One error as itself; several as :class:`ConfigErrors` sorted by line, the first few shown."""
    ordered = sorted(errors, key=lambda e: (e.line is None, e.line or 0))
    if len(ordered) == 1:
        return ordered[0]
    return ConfigErrors(ordered[:MAX_SHOWN], hidden=max(0, len(ordered) - MAX_SHOWN))


@dataclass
class Located:
    """Where one pydantic ``loc`` points in the YAML, and what the model expects there."""

    path: YamlPath
    value: object
    """The YAML value at ``path`` (``None`` when absent)."""
    annotation: Any
    discriminator: str | None
    parent: type[BaseModel] | None
    """The model whose field ``path[-1]`` is (for "unknown field" messages)."""
    flat_fields: tuple[str, ...] = ()
    """Fields of an enclosing model written beside this one's (the flat steady-state form)."""


_MISSING = object()


def locate(model: type[BaseModel] | None, data: object, loc: Sequence[str | int]) -> Located:
    """Follow ``loc`` through ``model`` and the YAML ``data`` in step."""
    annotation: Any = model
    discriminator: str | None = None
    value: object = data
    path: list[str | int] = []
    parent: type[BaseModel] | None = None
    flat_fields: tuple[str, ...] = ()
    for position, part in enumerate(loc):
        annotation, discriminator = _unwrap(annotation, discriminator)
        members = _union_members(annotation)
        if discriminator and members and isinstance(part, str):
            chosen = _member_for(members, discriminator, part)
            if chosen is not None:
                # pydantic puts the union's tag in loc; YAML has no such level.
                annotation, discriminator = chosen, None
                continue
        model_here = annotation if _is_model(annotation) else None
        if model_here is not None and isinstance(part, str):
            parent = model_here
            info = model_here.model_fields.get(part)
            next_annotation: Any = info.annotation if info else None
            next_discriminator = info.discriminator if info else None
            is_last = position == len(loc) - 1
            if (not is_last and isinstance(value, dict) and part in value
                    and not isinstance(value[part], dict)
                    and _holds_models(next_annotation)):
                # Written flat: the nested model's fields sit beside this model's
                # own (a before-validator nests them), so stay at this YAML level.
                flat_fields = tuple(f for f in _field_names(model_here) if f != part)
                annotation = next_annotation
                discriminator = next_discriminator if isinstance(next_discriminator, str) else None
                continue
            if not is_last:
                flat_fields = ()
            annotation = next_annotation
            discriminator = next_discriminator if isinstance(next_discriminator, str) else None
        else:
            parent = None
            flat_fields = ()
            annotation = _item_annotation(annotation, part)
            discriminator = None
        path.append(part)
        value = _child(value, part)
    annotation, discriminator = _unwrap(annotation, discriminator)
    return Located(tuple(path), None if value is _MISSING else value, annotation, discriminator,
                   parent, flat_fields)


def from_validation_error(
    error: ValidationError,
    *,
    model: type[BaseModel] | None,
    data: object,
    file: str,
    line_of: Callable[[YamlPath], int | None],
    prefix: str = "",
) -> ConfigError:
    """Every error of ``error`` as one ConfigError (several lines when there are several).

    ``prefix`` goes before each field name (a Python file names the model being built).
    """
    details = _without_echoes(error.errors())
    problems = []
    for detail in details:
        raised = (detail.get("ctx") or {}).get("error")
        if isinstance(raised, FieldError):  # a validator that knows which field is wrong
            detail = {**detail, "loc": (*detail["loc"], *raised.loc)}
        where = locate(model, data, detail["loc"])
        message = describe(detail, where)
        path = where.path
        # Point at the tag itself ("method[0].fault") when it was written as a key.
        if (detail["type"] in ("union_tag_invalid", "union_tag_not_found")
                and where.discriminator and isinstance(where.value, dict)
                and where.discriminator in where.value):
            path = (*path, where.discriminator)
        name = field_name(path)
        if prefix:
            joiner = "" if name.startswith("[") or not name else "."
            name = f"{prefix}{joiner}{name}"
        problems.append(ConfigError(message, file=file, line=line_of(path), field=name or None))
    return combine(problems)


def describe(detail: ErrorDetails, where: Located) -> str:
    """What was expected at ``where``, in plain words."""
    kind = detail["type"]
    given = detail.get("input")
    context = detail.get("ctx") or {}
    if kind == "extra_forbidden":
        name = where.path[-1] if where.path else "?"
        expected = sorted({*(_field_names(where.parent) if where.parent else ()),
                           *where.flat_fields})
        return f"unknown field {name!r}; expected one of {', '.join(expected)}"
    if kind == "missing":
        return "required field is missing"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = where.discriminator or str(context.get("discriminator", "kind")).strip("'")
        tags = ", ".join(union_tags(where.annotation, key))
        if kind == "union_tag_not_found":
            return f"missing {key!r}; expected one of {tags}"
        return f"unknown {key} {context.get('tag')!r}; expected one of {tags}"
    if kind == "literal_error" and get_origin(where.annotation) is Literal:
        choices = ", ".join(str(c) for c in get_args(where.annotation))
        return f"expected one of {choices}; got {given!r}"
    if kind in ("value_error", "assertion_error") and "error" in context:
        raised = context["error"]
        # A FieldError's own text leads with its field, which the location already says.
        return raised.message if isinstance(raised, FieldError) else str(raised)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields, got {_kind_of(given)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_kind_of(given)}"
    message = detail["msg"]
    if message.startswith("Input should be "):
        message = "expected " + message.removeprefix("Input should be ")
        if ", got " not in message:
            message += f", got {_kind_of(given)}"
    return message


def union_tags(annotation: Any, discriminator: str) -> list[str]:
    """The tags a discriminated union accepts, read from its members' Literal fields."""
    tags: set[str] = set()
    for member in _union_members(annotation):
        info = member.model_fields.get(discriminator)
        if info is not None:
            tags.update(str(tag) for tag in get_args(info.annotation))
    return sorted(tags)


def _without_echoes(details: list[ErrorDetails]) -> list[ErrorDetails]:
    # A list whose every item failed is then also "too short": that second
    # error is an echo of the first and only confuses.
    locs = [tuple(d["loc"]) for d in details]
    return [
        d for d in details
        if not (d["type"] == "too_short"
                and any(len(other) > len(d["loc"]) and other[:len(d["loc"])] == tuple(d["loc"])
                        for other in locs))
    ]


def _unwrap(annotation: Any, discriminator: str | None) -> tuple[Any, str | None]:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *metadata = get_args(annotation)
            for item in metadata:
                found = getattr(item, "discriminator", None)
                if isinstance(found, str):
                    discriminator = found
            annotation = base
            continue
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation, discriminator


def _union_members(annotation: Any) -> list[type[BaseModel]]:
    annotation, _ = _unwrap(annotation, None)
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if _is_model(a)]
    return []


def _member_for(members: list[type[BaseModel]], discriminator: str,
                tag: str) -> type[BaseModel] | None:
    for member in members:
        info = member.model_fields.get(discriminator)
        if info is not None and tag in get_args(info.annotation):
            return member
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _holds_models(annotation: Any) -> bool:
    annotation, _ = _unwrap(annotation, None)
    return _is_model(annotation) or bool(_union_members(annotation))


def _field_names(model: type[BaseModel]) -> list[str]:
    # Fields marked exclude (Experiment.source, base_dir) are set by the loader,
    # not written by users, so they are never offered as suggestions.
    return [name for name, info in model.model_fields.items() if not info.exclude]


def _item_annotation(annotation: Any, part: str | int) -> Any:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (tuple, list, set, frozenset) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return args[part] if isinstance(part, int) and part < len(args) else None
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _child(value: object, part: str | int) -> object:
    if isinstance(value, dict):
        return value.get(part, _MISSING)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return _MISSING


def _kind_of(value: object) -> str:
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    if isinstance(value, str | int | float | bool):
        return repr(value)
    return f"a {type(value).__name__}"
