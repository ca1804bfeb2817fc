"""CTK experiment files (JSON or YAML) → :class:`CtkExperiment`, with ``file:line: field:`` errors.

JSON is read by chaoskit's safe YAML reader (JSON is YAML): no tags or
aliases, duplicate keys refused, every value's line known. Recognising a CTK
file is by its keys: ``method`` or ``steady-state-hypothesis`` made of CTK
activities, and no chaoskit ``steady_state``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chaoskit.ctk.model import CtkExperiment, PythonProvider
from chaoskit.errors import ConfigError
from chaoskit.loader.diagnostics import combine
from chaoskit.loader.safe_yaml import Document, YamlPath, field_name, read_yaml

SUFFIXES = (".json", ".yaml", ".yml")
TOP_LEVEL = {info.alias or name for name, info in CtkExperiment.model_fields.items()
             if not info.exclude}


def is_ctk_data(data: object) -> bool:
    """Whether a parsed document is a CTK experiment rather than a chaoskit one."""
    if not isinstance(data, dict) or "steady_state" in data:
        return False
    if "steady-state-hypothesis" in data:
        return True
    method = data.get("method")
    return isinstance(method, list) and any(
        isinstance(item, dict) and ("provider" in item or "ref" in item) for item in method)


def is_ctk_file(path: str | Path) -> bool:
    """A ``.json`` file, or a YAML file whose keys are CTK's. Unreadable files are not CTK
    (the chaoskit loader then says what is wrong with them)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in SUFFIXES or not target.is_file():
        return False
    if suffix == ".json":
        return True
    try:
        return is_ctk_data(read_yaml(target, str(path)).value)
    except ConfigError:
        return False


def load_ctk(path: str | Path) -> CtkExperiment:
    """Load and validate a CTK experiment. Raises :class:`ConfigError` (exit 2), never
    anything else, for bad input."""
    file = str(path)
    target = Path(path)
    if target.suffix.lower() not in SUFFIXES:
        raise ConfigError("expected a .json, .yaml or .yml Chaos Toolkit experiment", file=file)
    if not target.is_file():
        raise ConfigError("no such file" if not target.exists() else "not a file", file=file)
    document = read_yaml(target, file)
    return parse_ctk(document)


def parse_ctk(document: Document) -> CtkExperiment:
    """A parsed document → the experiment, with what chaoskit will ignore listed."""
    data = document.value
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with title, description and method (a Chaos "
                          "Toolkit experiment)", file=document.file,
                          line=document.line_of(()) or 1)
    known = {k: v for k, v in data.items() if k in TOP_LEVEL}
    try:
        experiment = CtkExperiment.model_validate(known)
    except ValidationError as error:
        raise _errors(error, known, document) from None
    ignored = [f"{document.file}:{document.line_of((str(k),))}: {k}: not a Chaos Toolkit "
               "key chaoskit knows; ignored" for k in data if k not in TOP_LEVEL]
    ignored += _ignored_parts(experiment, document)
    return experiment.model_copy(update={"source": document.file, "ignored": tuple(ignored),
                                         "warnings": tuple(_warnings(experiment, document))})


def _warnings(experiment: CtkExperiment, document: Document) -> list[str]:
    notes = []
    for index, probe in enumerate(experiment.hypothesis_probes):
        tolerance = probe.tolerance
        if isinstance(tolerance, str) and tolerance.strip().lower() in ("true", "false"):
            path: YamlPath = ("steady-state-hypothesis", "probes", index, "tolerance")
            notes.append(f"{document.file}:{document.line_of(path)}: {field_name(path)}: "
                         f"{tolerance!r} is text: it is met only by the text {tolerance!r}, "
                         f"never by the boolean {tolerance.strip().lower()} (as in CTK); "
                         "write it without quotes for a boolean")
    return notes


def _ignored_parts(experiment: CtkExperiment, document: Document) -> list[str]:
    def at(path: YamlPath, what: str) -> str:
        return f"{document.file}:{document.line_of(path)}: {field_name(path)}: {what}"

    notes = []
    if experiment.controls:
        names = ", ".join(c.name for c in experiment.controls)
        notes.append(at(("controls",), f"controls are not run by chaoskit ({names}); ignored"))
    for index, extension in enumerate(experiment.extensions):
        if extension.name != "chaoskit":
            notes.append(at(("extensions", index), f"extension {extension.name!r} is not read "
                            "by chaoskit; ignored"))
    if experiment.contributions:
        notes.append(at(("contributions",), "contributions are not judged; kept in the journal"))
    sections: list[tuple[str | int, ...]] = []
    probes = experiment.hypothesis_probes
    sections += [("steady-state-hypothesis", "probes", i) for i in range(len(probes))]
    sections += [("method", i) for i in range(len(experiment.method))]
    sections += [("rollbacks", i) for i in range(len(experiment.rollbacks))]
    for path in sections:
        item = _at(experiment, path)
        fields: set[str] = getattr(item, "model_fields_set", set())
        for name in ("controls", "timeout", "dry", "configuration", "secrets"):
            if name in fields:
                notes.append(at((*path, name), f"an activity's {name} is not read by "
                                "chaostoolkit-lib nor chaoskit; ignored"))
        provider = getattr(item, "provider", None)
        if provider is not None and "expected_status" in provider.model_fields_set:
            notes.append(at((*path, "provider", "expected_status"), "not read by "
                            "chaostoolkit-lib nor chaoskit (a tolerance judges the status); "
                            "ignored"))
        if isinstance(provider, PythonProvider) and "timeout" in provider.model_fields_set:
            notes.append(at((*path, "provider", "timeout"), "a Python call is not timed out "
                            "by chaostoolkit-lib nor chaoskit; ignored"))
    return notes


def _at(experiment: CtkExperiment, path: tuple[str | int, ...]) -> object:
    if path[0] == "steady-state-hypothesis":
        return experiment.hypothesis_probes[int(path[2])]
    return getattr(experiment, str(path[0]))[int(path[1])]


def _errors(error: ValidationError, data: dict[Any, Any], document: Document) -> ConfigError:
    problems = []
    for detail in error.errors():
        loc = list(detail["loc"])
        raised = (detail.get("ctx") or {}).get("error")
        loc_extra = getattr(raised, "loc", None)
        if loc_extra:
            loc += list(loc_extra)
        # A field named by pydantic as missing, or by a validator (FieldError), may be absent
        # from the file and is still the one to name.
        path = _yaml_path(data, loc, missing=detail["type"] == "missing" or bool(loc_extra))
        if detail["type"] == "union_tag_invalid":
            path = (*path, "type")  # the tag itself is what is wrong
        message = _message(detail, path, raised)
        problems.append(ConfigError(message, file=document.file, line=document.line_of(path),
                                    field=field_name(path) or None))
    return combine(_unique(problems))


def _yaml_path(data: object, loc: Sequence[str | int], *, missing: bool) -> YamlPath:
    """pydantic's ``loc`` as a path in the YAML: union tags (``regex``, ``activity``,
    ``function-after[...]``) name no YAML level and are skipped; a missing field is named."""
    path: list[str | int] = []
    value = data
    for position, part in enumerate(loc):
        child = _child(value, part)
        if child is not _ABSENT:
            path.append(part)
            value = child
        elif missing and position == len(loc) - 1 and isinstance(value, dict):
            path.append(part)
    return tuple(path)


_ABSENT = object()


def _child(value: object, part: str | int) -> object:
    if isinstance(value, dict):
        return value.get(part, _ABSENT)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return _ABSENT


def _message(detail: Any, path: YamlPath, raised: object) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        return (f"unknown field {path[-1]!r} (Chaos Toolkit would ignore it silently; chaoskit "
                "refuses it so a typo is not a no-op)" if path else "unknown field")
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        context = detail.get("ctx") or {}
        tags = str(context.get("expected_tags", "")).replace("'", "")
        return f"unknown type {context.get('tag')!r}; expected one of {tags}"
    if isinstance(raised, Exception) and hasattr(raised, "message"):
        return str(raised.message)
    message = str(detail["msg"]).removeprefix("Value error, ")
    if message.startswith("Input should be "):
        message = "expected " + message.removeprefix("Input should be ")
    return message


def _unique(problems: list[ConfigError]) -> list[ConfigError]:
    # A value that fails every member of a union is reported once per member: keep the first.
    seen: set[tuple[int | None, str | None]] = set()
    kept = []
    for problem in problems:
        key = (problem.line, problem.field)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    return kept

