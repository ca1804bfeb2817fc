"""Idempotency keys: one execution per key, replay, 409 in flight, 422 mismatch, 400 missing."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from targets.patterns.idempotency import (
    Commit,
    IdempotencyError,
    IdempotencyStore,
    Result,
    connect,
)


class Bank:
    """Work that charges into a ``charges`` table, committed together with the key."""

    def __init__(self, db: sqlite3.Connection, delay: float = 0.0) -> None:
        self.db, self.delay, self.runs = db, delay, 0
        db.execute("CREATE TABLE charges (key TEXT, amount INTEGER)")

    def charge(self, key: str | None, amount: int):  # type: ignore[no-untyped-def]
        async def work() -> tuple[int, dict[str, Any], Commit]:
            self.runs += 1
            await asyncio.sleep(self.delay)
            n = self.runs
            return 201, {"charge": n, "amount": amount}, lambda db: db.execute(
                "INSERT INTO charges VALUES (?, ?)", (key, amount))
        return work

    def charges(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM charges").fetchone()[0])


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    return connect(str(tmp_path / "ledger.db"))


async def test_replays_the_stored_response(db: sqlite3.Connection) -> None:
    store, bank = IdempotencyStore(db), Bank(db)
    first = await store.execute_once("k1", "fp", bank.charge("k1", 10))
    again = await store.execute_once("k1", "fp", bank.charge("k1", 10))
    assert first == Result(201, {"charge": 1, "amount": 10})
    assert again.replayed and again.body == first.body and again.status == 201
    assert bank.runs == 1 and bank.charges() == 1 and store.replays == 1


async def test_same_key_other_parameters_is_422(db: sqlite3.Connection) -> None:
    store, bank = IdempotencyStore(db), Bank(db)
    await store.execute_once("k1", "fp-10", bank.charge("k1", 10))
    with pytest.raises(IdempotencyError) as error:
        await store.execute_once("k1", "fp-99", bank.charge("k1", 99))
    assert error.value.status == 422 and bank.charges() == 1


async def test_missing_key_is_400(db: sqlite3.Connection) -> None:
    store, bank = IdempotencyStore(db), Bank(db)
    with pytest.raises(IdempotencyError) as error:
        await store.execute_once(None, "fp", bank.charge(None, 10))
    assert error.value.status == 400 and bank.runs == 0


async def test_same_key_in_flight_is_409(db: sqlite3.Connection) -> None:
    store, bank = IdempotencyStore(db), Bank(db, delay=0.05)
    first = asyncio.create_task(store.execute_once("k1", "fp", bank.charge("k1", 10)))
    await asyncio.sleep(0.01)
    with pytest.raises(IdempotencyError) as error:
        await store.execute_once("k1", "fp", bank.charge("k1", 10))
    assert error.value.status == 409
    assert (await first).status == 201 and bank.charges() == 1


async def test_concurrent_same_key_requests_charge_once(db: sqlite3.Connection) -> None:
    store, bank = IdempotencyStore(db), Bank(db, delay=0.01)

    async def client() -> Result:
        # A client retrying on 409 with the same key until it gets an answer.
        while True:
            try:
                return await store.execute_once("k1", "fp", bank.charge("k1", 10))
            except IdempotencyError as error:
                assert error.status == 409
                await asyncio.sleep(0.005)

    results = await asyncio.gather(*(client() for _ in range(20)))
    assert bank.charges() == 1 and bank.runs == 1
    assert len({r.body["charge"] for r in results}) == 1


async def test_a_failed_execution_frees_the_key(db: sqlite3.Connection) -> None:
    store, bank = IdempotencyStore(db), Bank(db)

    async def crash() -> tuple[int, dict[str, Any], Commit]:
        raise ConnectionError("card network down")

    with pytest.raises(ConnectionError):
        await store.execute_once("k1", "fp", crash)
    assert (await store.execute_once("k1", "fp", bank.charge("k1", 10))).status == 201
    assert bank.charges() == 1


async def test_an_abandoned_key_is_taken_over(db: sqlite3.Connection) -> None:
    now = [0.0]
    store, bank = IdempotencyStore(db, lock_timeout=30, clock=lambda: now[0]), Bank(db)
    db.execute("INSERT INTO idempotency_keys (key, fingerprint, state, created_at, locked_at) "
               "VALUES ('k1', 'fp', 'running', 0, 0)")  # a process died mid-request
    with pytest.raises(IdempotencyError):
        await store.execute_once("k1", "fp", bank.charge("k1", 10))
    now[0] = 31
    assert (await store.execute_once("k1", "fp", bank.charge("k1", 10))).status == 201


async def test_keys_survive_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    db = connect(path)
    bank = Bank(db)
    await IdempotencyStore(db).execute_once("k1", "fp", bank.charge("k1", 10))
    db.close()
    reopened = IdempotencyStore(connect(path))
    again = await reopened.execute_once("k1", "fp", bank.charge("k1", 10))
    assert again.replayed and bank.runs == 1


async def test_disabled_idempotency_charges_every_time(db: sqlite3.Connection) -> None:
    store, bank = IdempotencyStore(db, enabled=False), Bank(db, delay=0.01)
    await asyncio.gather(*(store.execute_once("k1", "fp", bank.charge("k1", 10))
                           for _ in range(3)))
    await store.execute_once(None, "fp", bank.charge(None, 10))
    assert bank.charges() == 4


async def test_a_restart_frees_the_keys_a_crash_left_running(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    db = connect(path)
    bank = Bank(db, delay=10)
    crashed = asyncio.create_task(
        IdempotencyStore(db).execute_once("k1", "fp", bank.charge("k1", 10)))
    await asyncio.sleep(0.01)
    # The process dies here: the key stays "running" on disk, no charge was committed.
    restarted = IdempotencyStore(connect(path))
    with pytest.raises(IdempotencyError):
        await restarted.execute_once("k1", "fp", bank.charge("k1", 10))  # 409 until...
    assert restarted.recover() == 1
    bank.delay = 0
    assert (await restarted.execute_once("k1", "fp", bank.charge("k1", 10))).status == 201
    assert bank.charges() == 1
    crashed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await crashed
