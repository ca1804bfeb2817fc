"""What a person watches during a run: a live panel on a terminal, plain lines in CI logs.

The runner hands every history event to :meth:`View.event` as it is appended;
the view only formats, it never decides anything. :func:`make_view` picks the
live panel (``chaoskit.report.live``) or plain lines (``chaoskit.report.plain``,
whose formatters the panel shares).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

from chaoskit.model.history import AnyEvent
from chaoskit.model.verdict import Judgement
from chaoskit.report.plain import PlainView

__all__ = ["PlainView", "View", "make_view"]


class View(Protocol):
    """The live view of one run."""

    def start(self) -> None: ...

    def event(self, e: AnyEvent) -> None: ...

    def stop(self, judgement: Judgement, run_dir: Path) -> None: ...


def make_view(title: str, plain: bool | None = None,
              expected_seconds: float | None = None) -> View:
    """A live rich view on a terminal; plain lines when ``plain`` or stdout is not a TTY."""
    if plain is None:
        plain = not sys.stdout.isatty()
    if plain:
        return PlainView(title)
    from chaoskit.report.live import LiveView

    return LiveView(title, expected_seconds=expected_seconds)
