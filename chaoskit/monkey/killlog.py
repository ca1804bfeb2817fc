"""The kill log: every decision the monkey made, in one SQLite file (stdlib ``sqlite3``).

Like Chaos Monkey 2's MySQL ``terminations`` table, it is what the minimum
time between kills is enforced through, so the gap holds across restarts and
across several monkeys sharing the file. Rows are never purged. Each row is
one planned kill and what became of it: ``killed``, or ``skipped`` with the
reason (``leashed``, ``outage``, ``exception``, ``min_gap``, ``error``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KILLED = "killed"
SKIPPED = "skipped"
REASONS = ("leashed", "outage", "exception", "min_gap", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monkey TEXT NOT NULL,
    grp TEXT NOT NULL,
    planned TEXT NOT NULL,
    decided_at REAL NOT NULL,
    wall_time REAL NOT NULL,
    target TEXT,
    decision TEXT NOT NULL CHECK (decision IN ('killed', 'skipped')),
    reason TEXT,
    detail TEXT NOT NULL DEFAULT '',
    run TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS decisions_group ON decisions (monkey, grp, decided_at);
CREATE UNIQUE INDEX IF NOT EXISTS decisions_planned ON decisions (monkey, grp, planned);
"""


@dataclass(frozen=True)
class Decision:
    monkey: str
    group: str
    planned: str
    """The planned time, ISO 8601 with its UTC offset (the schedule's key)."""
    decided_at: float
    """On the monkey's clock (compressed time counts here)."""
    target: str | None
    decision: str
    reason: str | None = None
    detail: str = ""
    run: str = ""
    wall_time: float = 0.0

    @property
    def line(self) -> str:
        try:  # in the monkey's time zone: the planned time carries its offset
            zone = dt.datetime.fromisoformat(self.planned).tzinfo or dt.UTC
        except ValueError:
            zone = dt.UTC
        when = dt.datetime.fromtimestamp(self.decided_at, zone).isoformat(timespec="seconds")
        what = self.decision if self.reason is None else f"{self.decision} ({self.reason})"
        target = self.target or "-"
        detail = f"  {self.detail}" if self.detail else ""
        return f"{when}  {self.group:<28} {target:<34} {what}{detail}"


class KillLog:
    """One SQLite file; each call opens a short connection (safe across processes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # a transaction: commit, or roll back on error
                yield db
        finally:
            db.close()

    def record(self, decision: Decision) -> bool:
        """Add a decision; False if this planned kill was already decided (a restart)."""
        with self._db() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO decisions (monkey, grp, planned, decided_at, wall_time, "
                "target, decision, reason, detail, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (decision.monkey, decision.group, decision.planned, decision.decided_at,
                 decision.wall_time or time.time(), decision.target, decision.decision,
                 decision.reason, decision.detail, decision.run))
            return cursor.rowcount == 1

    def decided(self, monkey: str, group: str, planned: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT 1 FROM decisions WHERE monkey = ? AND grp = ? AND "
                             "planned = ?", (monkey, group, planned)).fetchone()
        return row is not None

    def last_kill(self, monkey: str, group: str, *, count_leashed: bool) -> float | None:
        """When the group was last killed (on the monkey's clock). A leashed monkey counts
        its leashed decisions too; a real one only real kills (as Chaos Monkey 2)."""
        query = ("SELECT MAX(decided_at) FROM decisions WHERE monkey = ? AND grp = ? AND "
                 "(decision = 'killed'")
        query += " OR reason = 'leashed')" if count_leashed else ")"
        with self._db() as db:
            row = db.execute(query, (monkey, group)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def decisions(self, monkey: str | None = None) -> list[Decision]:
        query = ("SELECT monkey, grp, planned, decided_at, target, decision, reason, detail, "
                 "run, wall_time FROM decisions")
        args: tuple[str, ...] = ()
        if monkey is not None:
            query += " WHERE monkey = ?"
            args = (monkey,)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY decided_at, id", args).fetchall()
        return [Decision(monkey=r[0], group=r[1], planned=r[2], decided_at=r[3], target=r[4],
                         decision=r[5], reason=r[6], detail=r[7], run=r[8], wall_time=r[9])
                for r in rows]

    def counts(self, monkey: str) -> tuple[dict[str, int], dict[str, int]]:
        """(kills per group, skips per reason) for ``/metrics``."""
        with self._db() as db:
            kills = db.execute("SELECT grp, COUNT(*) FROM decisions WHERE monkey = ? AND "
                               "decision = 'killed' GROUP BY grp", (monkey,)).fetchall()
            skips = db.execute("SELECT reason, COUNT(*) FROM decisions WHERE monkey = ? AND "
                               "decision = 'skipped' GROUP BY reason", (monkey,)).fetchall()
        return {g: n for g, n in kills}, {r: n for r, n in skips}
