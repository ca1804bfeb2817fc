"""``${name}`` substitution exactly as chaostoolkit-lib does it (``chaoslib.substitute``).

Values come from the configuration first, then from every secret scope (all
scopes are visible, whatever a provider declares). A string that is one whole
``${name}`` becomes the value itself, in its own type (``"${port}"`` → 8080); in
a longer string the value is formatted in. An unknown name is left as written,
so ``$HOME`` and ``${x}`` pass through to a shell untouched.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from string import Template
from typing import Any

Configuration = Mapping[str, Any]
Secrets = Mapping[str, Mapping[str, Any]]


class _TypedTemplate(Template):
    def typed_substitute(self, mapping: Mapping[str, Any]) -> Any:
        match = self.pattern.fullmatch(self.template)
        if match is not None:
            # Only the braced form keeps its type: CTK formats a whole "$name" as text.
            key = match.group("braced")
            if key is not None and key in mapping:
                return mapping[key]
        return self.safe_substitute(mapping)


def values(configuration: Configuration | None, secrets: Secrets | None) -> Mapping[str, Any]:
    """The one lookup CTK builds: configuration, then each secret scope."""
    return ChainMap(dict(configuration or {}), *(dict(s) for s in (secrets or {}).values()))


def substitute(data: Any, configuration: Configuration | None, secrets: Secrets | None) -> Any:
    """``data`` with every ``${name}`` in its strings replaced (recursively in lists and
    mappings); the input is not changed."""
    if not data:
        return data
    return _walk(data, values(configuration, secrets))


def _walk(data: Any, mapping: Mapping[str, Any]) -> Any:
    if isinstance(data, str):
        return _TypedTemplate(data).typed_substitute(mapping)
    if isinstance(data, list | tuple):
        return [_walk(item, mapping) for item in data]
    if isinstance(data, dict):
        return {key: _walk(value, mapping) for key, value in data.items()}
    return data
