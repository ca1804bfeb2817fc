"""Python activities the CTK unit tests call (as chaostoolkit-lib's tests/fixtures/probes.py)."""

from __future__ import annotations

from typing import Any

from chaoskit.ctk.errors import ActivityFailed


def must_be_in_range(a: float, b: float, value: Any = None) -> bool:
    """A probe tolerance: the HTTP body (or the value itself) as a number within [a, b]."""
    if value is None:
        raise ActivityFailed("value cannot be None")
    if isinstance(value, dict):
        value = value.get("body")
    try:
        return a <= float(value) <= b
    except (TypeError, ValueError):
        raise ActivityFailed(f"{value!r} is not a number") from None


def echo(message: str = "hello", configuration: dict[str, Any] | None = None,
         secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """What CTK hands a function: its arguments and, when declared, configuration/secrets."""
    return {"message": message, "configuration": configuration, "secrets": secrets}


def boom() -> None:
    raise RuntimeError("boom")


def read_text(path: str) -> str:
    """The file's text, "" when it does not exist: state an action changes and a probe reads."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except FileNotFoundError:
        return ""


def write_text(path: str, text: str) -> str:
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)
    return text


def fail(message: str = "failed on purpose") -> None:
    raise ValueError(message)
