"""The probe protocol: take one reading of something measurable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from chaoskit.checks.compare import Comparison
from chaoskit.context import RunContext


@dataclass(frozen=True)
class Reading:
    """A probe's value (``None`` when there was nothing to measure) and a human detail."""

    value: float | None
    detail: str = ""
    window_start: float | None = None
    """For windowed probes: the start of the data the value was computed over."""
    comparison: Comparison | None = None
    """A compared load probe's: both groups over the window and the test's result."""


@runtime_checkable
class Probe(Protocol):
    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        """Measure now.

        Windowed probes look at the last ``window`` seconds (their spec's window
        when None) and ignore data older than ``since``.
        """
