"""Idempotency keys (Stripe-style): a retried POST does its work at most once.

A client that times out on "charge $10" cannot know whether the charge
happened. With an ``Idempotency-Key`` (a UUID made once per logical payment,
reused on every retry) it can simply retry: the server runs the request the
first time and answers every later request with the same key with the stored
response. The rules (IETF draft ``httpapi-idempotency-key-header``):

- no key → ``400`` (the endpoint requires one);
- same key, different parameters → ``422`` (a client bug, never a replay);
- same key while the first request is still running → ``409`` (retry later);
- same key after it finished → the stored status and body, replayed.

Keys live in SQLite next to the ledger, in the same database, so "mark the key
done" and "write the charge" commit in ONE transaction: a crash either loses
both (the retry runs the work) or keeps both (the retry replays). A key left
in flight by a crashed process is taken over after ``lock_timeout``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Commit = Callable[[sqlite3.Connection], None]
Work = Callable[[], Awaitable[tuple[int, dict[str, Any], Commit | None]]]
"""Does the request's work; returns (status, body, writes to commit with the key)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
    status INTEGER, body TEXT, created_at REAL NOT NULL, locked_at REAL NOT NULL)
"""


class IdempotencyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Result:
    status: int
    body: dict[str, Any]
    replayed: bool = False


class IdempotencyStore:
    """Runs work at most once per key; ``enabled=False`` runs it every time."""

    def __init__(self, db: sqlite3.Connection, *, enabled: bool = True,
                 lock_timeout: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.enabled = enabled
        self.lock_timeout = lock_timeout
        self.replays = 0
        self.conflicts = 0
        self.mismatches = 0
        self._clock = clock
        db.execute(SCHEMA)

    async def execute_once(self, key: str | None, fingerprint: str, work: Work) -> Result:
        if not self.enabled:
            status, body, commit = await work()
            self._transaction(commit)
            return Result(status, body)
        if not key:
            raise IdempotencyError(400, "an Idempotency-Key header is required")
        stored = self._claim(key, fingerprint)
        if stored is not None:
            self.replays += 1
            return stored
        try:
            status, body, commit = await work()
        except BaseException:
            # Nothing was committed: free the key so the client's retry can run.
            def release(db: sqlite3.Connection) -> None:
                db.execute("DELETE FROM idempotency_keys WHERE key = ? AND state = 'running'",
                           (key,))

            self._transaction(release)
            raise

        def finish(db: sqlite3.Connection) -> None:
            if commit is not None:
                commit(db)
            db.execute("UPDATE idempotency_keys SET state = 'done', status = ?, body = ? "
                       "WHERE key = ?", (status, json.dumps(body), key))

        self._transaction(finish)
        return Result(status, body)

    def recover(self) -> int:
        """At start-up, free the keys a crashed predecessor left running; how many.

        Only valid when one process owns the database (as each payments instance
        does): then nobody can still be working on them, and since a charge and its
        key's completion commit together, a running key has no charge to replay.
        Without this, a retry after a crash waits out ``lock_timeout`` with 409s.
        """
        cursor = self.db.execute("DELETE FROM idempotency_keys WHERE state = 'running'")
        return cursor.rowcount

    def _claim(self, key: str, fingerprint: str) -> Result | None:
        """Insert the key as running (→ None: go ahead) or explain why not."""
        now = self._clock()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT fingerprint, state, status, body, locked_at "
                                  "FROM idempotency_keys WHERE key = ?", (key,)).fetchone()
            abandoned = row is not None and row[0] == fingerprint and row[1] == "running" \
                and now - row[4] > self.lock_timeout
            if row is None or abandoned:
                self.db.execute(
                    "INSERT OR REPLACE INTO idempotency_keys "
                    "(key, fingerprint, state, created_at, locked_at) "
                    "VALUES (?, ?, 'running', ?, ?)", (key, fingerprint, now, now))
                self.db.execute("COMMIT")
                return None
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        if row[0] != fingerprint:
            self.mismatches += 1
            raise IdempotencyError(422, "this Idempotency-Key was used with other parameters")
        if row[1] == "running":
            self.conflicts += 1
            raise IdempotencyError(409, "a request with this Idempotency-Key is in progress")
        return Result(int(row[2]), json.loads(row[3]), replayed=True)

    def _transaction(self, writes: Commit | None) -> None:
        if writes is None:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            writes(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with WAL for durability."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db
