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
from tests.unit.fake_clock import settle


class Bank:
    """Work that charges into a ``charges`` table, committed together with the key.

    With ``hold``, each charge starts (``started`` is set) and then waits for
    ``release``: a request in flight for as long as a test needs, with no clock.
    """

    def __init__(self, db: sqlite3.Connection, hold: bool = False) -> None:
        self.db, self.runs = db, 0
        self.started, self.release = asyncio.Event(), asyncio.Event()
        if not hold:
            self.release.set()
        db.execute("CREATE TABLE charges (key TEXT, amount INTEGER)")

    def charge(self, key: str | None, amount: int):  # type: ignore[no-untyped-def]
        async def work() -> tuple[int, dict[str, Any], Commit]:
            self.runs += 1
            self.started.set()
            await self.release.wait()
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
    store, bank = IdempotencyStore(db), Bank(db, hold=True)
    first = asyncio.create_task(store.execute_once("k1", "fp", bank.charge("k1", 10)))
    await bank.started.wait()
    with pytest.raises(IdempotencyError) as error:
        await store.execute_once("k1", "fp", bank.charge("k1", 10))
    assert error.value.status == 409
    bank.release.set()
    assert (await first).status == 201 and bank.charges() == 1


async def test_concurrent_same_key_requests_charge_once(db: sqlite3.Connection) -> None:
    store, bank = IdempotencyStore(db), Bank(db, hold=True)
    refused = 0

    async def client() -> Result:
        # A client retrying on 409 with the same key until it gets an answer.
        nonlocal refused
        while True:
            try:
                return await store.execute_once("k1", "fp", bank.charge("k1", 10))
            except IdempotencyError as error:
                assert error.status == 409
                refused += 1
                if refused >= 19:
                    bank.release.set()  # as many 409s as there are other clients
                await asyncio.sleep(0)

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
    store, bank = IdempotencyStore(db, enabled=False), Bank(db, hold=True)
    calls = [asyncio.create_task(store.execute_once("k1", "fp", bank.charge("k1", 10)))
             for _ in range(3)]
    await settle()
    assert bank.runs == 3  # all three in flight at once: no 409, no replay
    bank.release.set()
    await asyncio.gather(*calls)
    await store.execute_once(None, "fp", bank.charge(None, 10))
    assert bank.charges() == 4


async def test_a_restart_frees_the_keys_a_crash_left_running(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    db = connect(path)
    bank = Bank(db, hold=True)
    crashed = asyncio.create_task(
        IdempotencyStore(db).execute_once("k1", "fp", bank.charge("k1", 10)))
    await bank.started.wait()
    # The process dies here: the key stays "running" on disk, no charge was committed.
    restarted = IdempotencyStore(connect(path))
    with pytest.raises(IdempotencyError):
        await restarted.execute_once("k1", "fp", bank.charge("k1", 10))  # 409 until...
    assert restarted.recover() == 1
    bank.release.set()
    assert (await restarted.execute_once("k1", "fp", bank.charge("k1", 10))).status == 201
    assert bank.charges() == 1
    crashed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await crashed
