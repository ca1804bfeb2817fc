"""Shared by the monkey's unit tests: a config on the bundled topology, a fake actuator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from chaoskit.errors import FaultError
from chaoskit.monkey import KillLog, Monkey, MonkeyConfig, PlannedKill, SteppedClock, load_monkey

ROOT = Path(__file__).resolve().parents[3]
TOPOLOGY = ROOT / "targets" / "netflix.yaml"


def monkey_file(tmp: Path, body: str = "", *, leashed: bool = False,
                schedule: str = "") -> Path:
    path = tmp / "monkey.yaml"
    path.write_text(
        f"title: test monkey\ntopology: {TOPOLOGY}\nleashed: {str(leashed).lower()}\n"
        "schedule:\n"
        "  hours: {start: 9, end: 15, time_zone: America/Los_Angeles}\n"
        "  holidays: US\n"
        "  exceptions: [{service: payments}]\n"
        f"{schedule}{body}")
    return path


def config(tmp: Path, **kwargs: object) -> MonkeyConfig:
    return load_monkey(monkey_file(tmp, **kwargs))  # type: ignore[arg-type]


class FakeActuator:
    """Kills nothing real: records what it was asked; an outage or a failure on demand."""

    def __init__(self) -> None:
        self.killed: list[PlannedKill] = []
        self.outage_reason: str | None = None
        self.fail: str | None = None

    async def outage(self) -> str | None:
        return self.outage_reason

    async def kill(self, planned: PlannedKill) -> tuple[str, ...]:
        if self.fail:
            raise FaultError(self.fail)
        self.killed.append(planned)
        return (planned.target or "",)


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


async def simulate(cfg: MonkeyConfig, log: KillLog, start: str, end: str, *, seed: int = 7,
                   actuator: FakeActuator | None = None) -> tuple[Monkey, FakeActuator]:
    """Run the monkey's own loop from ``start`` to ``end`` on a clock that jumps."""
    actuator = actuator or FakeActuator()
    monkey = Monkey(cfg, seed=seed, clock=SteppedClock(at(start)), log=log, actuator=actuator)
    await monkey.run_until(at(end))
    return monkey, actuator
