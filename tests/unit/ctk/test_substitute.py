"""``${name}`` substitution and configuration/secret loading as chaostoolkit-lib does them."""

from __future__ import annotations

import pytest

from chaoskit.ctk.configuration import convert
from chaoskit.ctk.substitute import substitute

CONFIG = {"port": 8080, "host": "127.0.0.1", "flags": ["-v"], "name": "config"}
SECRETS = {"api": {"token": "s3cret", "name": "secret"}, "db": {"password": "pw"}}


@pytest.mark.parametrize(("data", "expected"), [
    ("${port}", 8080),  # a whole ${x} keeps its type
    ("${flags}", ["-v"]),
    ("http://${host}:${port}/x", "http://127.0.0.1:8080/x"),  # inside text: formatted in
    ("$port", "8080"),  # the unbraced form is always text (CTK's TypedTemplate)
    ("${unknown}", "${unknown}"),  # unknown names pass through, for shells
    ("$HOME and ${unknown} and $$", "$HOME and ${unknown} and $"),
    ("${token} ${password}", "s3cret pw"),  # every secret scope is visible
    ("${name}", "config"),  # configuration wins over secrets
    ({"a": ["${port}", {"b": "${host}"}], "c": 1}, {"a": [8080, {"b": "127.0.0.1"}], "c": 1}),
    ("", ""),
    (None, None),
    (5, 5),
])
def test_substitution(data: object, expected: object) -> None:
    assert substitute(data, CONFIG, SECRETS) == expected


def test_the_input_is_not_changed() -> None:
    data = {"a": ["${port}"]}
    substitute(data, CONFIG, SECRETS)
    assert data == {"a": ["${port}"]}


@pytest.mark.parametrize(("kind", "raw", "expected"), [
    (None, "x", "x"), ("str", "x", "x"), ("int", "42", 42), ("integer", "42", 42),
    ("float", "1.5", 1.5), ("number", "2", 2.0), ("bytes", "ab", b"ab"),
    ("bool", "false", False), ("bool", "0", False), ("bool", "no", False),
    ("bool", "yes", True), ("bool", "anything", True), ("json", '{"a": [1]}', {"a": [1]}),
    ("json", "", ""),
])
def test_env_var_types_convert_as_ctk(kind: str | None, raw: str, expected: object) -> None:
    assert convert(kind, raw) == expected


def test_a_value_that_does_not_convert_raises() -> None:
    with pytest.raises(ValueError):
        convert("int", "eighty")
