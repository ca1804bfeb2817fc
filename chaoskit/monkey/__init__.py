"""Chaos Monkey as a service: kills on a schedule, the way Netflix runs it.

``load_monkey`` reads a monkey file; ``plan`` is the schedule (a pure function
of the config, a seed and the calendar); ``run_monkey`` runs it on a real
system until it is stopped, logging every decision in a SQLite kill log.
Names are imported on first use, so ``chaoskit --help`` does not load the runner.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Actuator": "chaoskit.monkey.decide",
    "Monkey": "chaoskit.monkey.decide",
    "Decision": "chaoskit.monkey.killlog",
    "KillLog": "chaoskit.monkey.killlog",
    "MonkeyConfig": "chaoskit.monkey.config",
    "ScaledClock": "chaoskit.monkey.clock",
    "SteppedClock": "chaoskit.monkey.clock",
    "load_monkey": "chaoskit.monkey.loader",
    "PlannedKill": "chaoskit.monkey.schedule",
    "plan": "chaoskit.monkey.schedule",
    "upcoming": "chaoskit.monkey.schedule",
    "MonkeyOptions": "chaoskit.monkey.service",
    "MonkeyResult": "chaoskit.monkey.service",
    "default_log_path": "chaoskit.monkey.service",
    "run_monkey": "chaoskit.monkey.service",
    "run_monkey_async": "chaoskit.monkey.service",
}

__all__ = [
    "Actuator", "Decision", "KillLog", "Monkey", "MonkeyConfig", "MonkeyOptions", "MonkeyResult",
    "PlannedKill", "ScaledClock", "SteppedClock", "default_log_path", "load_monkey", "plan",
    "run_monkey", "run_monkey_async", "upcoming",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'chaoskit.monkey' has no attribute {name!r}")


if TYPE_CHECKING:
    from chaoskit.monkey.clock import ScaledClock, SteppedClock
    from chaoskit.monkey.config import MonkeyConfig
    from chaoskit.monkey.decide import Actuator, Monkey
    from chaoskit.monkey.killlog import Decision, KillLog
    from chaoskit.monkey.loader import load_monkey
    from chaoskit.monkey.schedule import PlannedKill, plan, upcoming
    from chaoskit.monkey.service import (
        MonkeyOptions,
        MonkeyResult,
        default_log_path,
        run_monkey,
        run_monkey_async,
    )
