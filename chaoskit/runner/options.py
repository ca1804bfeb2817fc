"""How a run is carried out (flags), and what it produced."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chaoskit.model.verdict import Judgement


@dataclass(frozen=True)
class RunOptions:
    platform: str = "local"
    proxy: str = "embedded"
    disabled: frozenset[str] = frozenset()
    reports_dir: Path = Path("reports")
    dry_run: bool = False
    plain: bool | None = None
    """Plain line output; None decides by whether stdout is a terminal."""
    quiet: bool = False
    """No terminal output at all (the pytest plugin, GameDays)."""
    links: bool | None = None
    """Carry dependency edges through the proxy server; None: only when a fault needs it."""


@dataclass(frozen=True)
class RunResult:
    judgement: Judgement
    run_dir: Path
    time_to_recover: float | None

    @property
    def verdict(self) -> str:
        return self.judgement.verdict.value

    @property
    def exit_code(self) -> int:
        return self.judgement.verdict.exit_code

    @property
    def journal(self) -> Path:
        return self.run_dir / "journal.json"
