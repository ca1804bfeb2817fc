"""A YAML reader for untrusted experiment files that remembers where every value came from.

PyYAML's ``safe_load`` still accepts aliases (the billion-laughs bomb),
silently keeps the last of two duplicate keys, and forgets line numbers. Here
the document is composed into nodes by a ``SafeLoader`` subclass that refuses
tags, aliases and deep nesting, and then turned into plain values by hand so
duplicate keys are caught and each value's path maps to its line.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaoskit.errors import ConfigError

MAX_BYTES = 1 << 20
"""Experiments are a few hundred lines; anything bigger is a mistake or an attack."""
MAX_DEPTH = 64
"""Deep enough for any real file, shallow enough that composing never nears the recursion limit."""

YamlPath = tuple[str | int, ...]
"""Keys and list indexes from the document root to a value."""

_STANDARD = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class Document:
    """A parsed file: plain values plus the line (1-based) of every value's path."""

    file: str
    value: object
    lines: dict[YamlPath, int] = field(default_factory=dict)

    def line_of(self, path: YamlPath) -> int | None:
        """The line of ``path``, or of its nearest parent that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def field_name(path: YamlPath) -> str:
    """``("steady_state", 0, "tolerance")`` → ``steady_state[0].tolerance``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Rejected(yaml.MarkedYAMLError):
    """A construct that is valid YAML but not accepted in an experiment."""


class _Loader(yaml.SafeLoader):
    """Composes nodes only; refuses explicit tags, aliases and nesting past MAX_DEPTH."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            # Aliases are how the billion-laughs bomb grows; experiments never need them.
            raise _Rejected(problem=f"aliases (*{event.anchor}) are not allowed; write the value "
                                    "out in full", problem_mark=event.start_mark)
        event = self.peek_event()  # type: ignore[no-untyped-call]
        tag = getattr(event, "tag", None)
        if tag is not None:
            shown = "!!" + tag[len(_STANDARD):] if tag.startswith(_STANDARD) else tag
            raise _Rejected(problem=f"tags such as {shown} are not allowed; an experiment holds "
                                    "only plain mappings, lists and scalars",
                            problem_mark=event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Rejected(problem=f"nested deeper than {MAX_DEPTH} levels",
                                problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml(path: Path, shown: str) -> Document:
    """Parse ``path`` (reported as ``shown``) into a :class:`Document`, or raise ConfigError."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"file is {size} bytes; at most {MAX_BYTES} are accepted", file=shown)
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", file=shown) from None
    text = _decode(data, shown)
    _check_printable(text, shown)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[YamlPath, int] = {}
        value = None if node is None else _build(loader, node, (), lines, shown)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or "not valid"
        if isinstance(error, _Rejected):
            message = problem  # valid YAML, but refused: "invalid" would mislead
        else:
            context = f" ({error.context})" if error.context else ""
            column = f" at column {mark.column + 1}" if mark else ""
            message = f"invalid YAML{column}: {problem}{context}"
            if error.context and "flow" in error.context:
                # chaostoolkit#292: "${x}" inside {...} reads as a nested mapping.
                message += "; inside {...} or [...] quote values holding { } [ ] , or :"
        raise ConfigError(message, file=shown,
                          line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", file=shown) from None
    finally:
        loader.dispose()
    return Document(file=shown, value=value, lines=lines)


def _decode(data: bytes, shown: str) -> str:
    """UTF-8 ``data`` as text, or a ConfigError at the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start:error.start].decode("utf-8", "replace")) + 1
        raise ConfigError(f"not UTF-8 text: byte 0x{data[error.start]:02x} at column {column} "
                          f"({error.reason})", file=shown,
                          line=data.count(b"\n", 0, error.start) + 1) from None


def _check_printable(text: str, shown: str) -> None:
    """Refuse what YAML's reader refuses (NUL, BEL, ...), located, before PyYAML sees it.

    PyYAML raises a ``ReaderError`` holding only an offset, from the loader's
    constructor; the same test here gives the line and column instead.
    """
    found = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if found is None:
        return
    at = found.start()
    character = text[at]
    line_start = text.rfind("\n", 0, at) + 1
    where = f"U+{ord(character):04X} at column {at - line_start + 1}"
    what = (f"control character {where}" if unicodedata.category(character) == "Cc"
            else f"character {where} is not printable")
    raise ConfigError(f"{what}; YAML allows only printable characters", file=shown,
                      line=text.count("\n", 0, at) + 1)


def _build(loader: _Loader, node: yaml.Node, path: YamlPath, lines: dict[YamlPath, int],
           shown: str) -> object:
    # A mapping value's line is its key's line (set by the caller): that is the
    # line a user looks at for "steady_state:" followed by an indented list.
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(loader, node, shown)
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), lines, shown) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.MappingNode)
    result: dict[object, object] = {}
    first: dict[object, int] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConfigError("a key must be a plain name, not a list or mapping", file=shown,
                              line=line, field=field_name(path) or None)
        key = _scalar(loader, key_node, shown)
        if key in first:
            raise ConfigError(f"duplicate key {key!r} (first given on line {first[key]})",
                              file=shown, line=line,
                              field=field_name((*path, str(key))))
        first[key] = line
        # Only text and whole numbers are path parts; a YAML 1.1 "yes:" key is True,
        # which would pass for the index 1.
        part: str | int = key if isinstance(key, str) else str(key)
        if isinstance(key, int) and not isinstance(key, bool):
            part = key
        child: YamlPath = (*path, part)
        lines[child] = line
        result[key] = _build(loader, value_node, child, lines, shown)
    return result


_READS_AS = {_STANDARD + "int": "a number", _STANDARD + "float": "a number",
             _STANDARD + "timestamp": "a date"}


def _scalar(loader: _Loader, node: yaml.ScalarNode, shown: str) -> object:
    # "<<" and "=" resolve to YAML 1.1 merge/value tags that SafeConstructor
    # cannot build as scalars; as keys or values they are just text here.
    if node.tag in (_STANDARD + "merge", _STANDARD + "value"):
        return node.value
    try:
        return loader.construct_object(node)
    except (ValueError, OverflowError) as error:
        # YAML 1.1 resolves "0x_" to an int and "2001-13-45" to a date, which
        # PyYAML then fails to build with a bare ValueError.
        kind = _READS_AS.get(node.tag, "a value")
        raise ConfigError(f"{node.value!r} reads as {kind} but is not a valid one ({error}); "
                          "quote it to keep it as text", file=shown,
                          line=node.start_mark.line + 1) from None
