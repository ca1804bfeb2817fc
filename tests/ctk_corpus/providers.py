"""Python provider functions the CTK corpus calls (``module: tests.ctk_corpus.providers``).

Ported from CTK's test helper modules (chaostoolkit ``tests/fixtures/force_failure.py``,
chaostoolkit-lib ``tests/fixtures/longpythonfunc.py``, ``badstuff.py``, ``probes.py``)
and from the tolerance tutorial (``search_text``). Plain functions, as CTK
calls them: keyword arguments from ``provider.arguments``, plus
``configuration``/``secrets``/``value`` when the signature names them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from tests.ctk_corpus.server import JSON_PAYLOAD


class ProviderFailure(Exception):
    """What a corpus provider raises on purpose (CTK wraps it as ActivityFailed)."""


def kaboom() -> bool:
    """chaostoolkit ``tests/fixtures/force_failure.py``: a probe that raises."""
    raise ProviderFailure("kaboom")


def be_long(howlong: float = 0.5) -> str:
    """chaostoolkit-lib ``tests/fixtures/longpythonfunc.py``, with seconds not minutes."""
    time.sleep(howlong)
    return "done"


def check_under_threshold(value: Any = None, target: float = 0) -> bool:
    """chaostoolkit-lib ``badstuff.check_under_treshold``: a probe tolerance (gets ``value``)."""
    return isinstance(value, int | float) and value < target


def must_be_in_range(a: int, b: int, value: Any = None) -> bool:
    """chaostoolkit-lib ``tests/fixtures/probes.py``: an http body inside (a, b), or fail."""
    body = value.get("body") if isinstance(value, dict) else value
    digits = re.search(r"[0-9]+", str(body))
    if digits is None or not a < int(digits.group()) < b:
        raise ProviderFailure("body is not in expected range")
    return True


def search_text(path: str, search_for: str, value: Any = None) -> bool:
    """The tolerance tutorial's probe tolerance: ``search_for`` matches the process stdout."""
    Path(path).read_text()
    stdout = value.get("stdout", "") if isinstance(value, dict) else ""
    return re.compile(search_for).match(stdout) is not None


def count_lines(path: str) -> int:
    """How many lines a file in the run's working directory has (0 if it is missing)."""
    file = Path(path)
    return len(file.read_text().splitlines()) if file.exists() else 0


def gauge() -> float:
    """A reading for the tutorial's ``range: [6.4, 7.5]`` example."""
    return 6.9


def mapping() -> dict[str, Any]:
    """The tolerance tutorial's mapping for ``jsonpath`` on a Python probe's output."""
    return dict(JSON_PAYLOAD)


def greet(name: str) -> str:
    return f"hello {name}"


def whoami(secrets: dict[str, Any] | None = None) -> str:
    """The user of the declared secrets scopes (CTK merges them into one mapping)."""
    return str((secrets or {}).get("user", "nobody"))


def secret_token_length(secrets: dict[str, Any] | None = None) -> int:
    return len(str((secrets or {}).get("token", "")))


def config_value(key: str, configuration: dict[str, Any] | None = None) -> Any:
    """A configuration value as the function sees it (after CTK's env conversion)."""
    return (configuration or {}).get(key)
