"""Redis clients through Sentinel: the load of the redis-sentinel experiments.

A ``Client`` finds the primary the way a real application does, by asking the
sentinels (``redis.sentinel.Sentinel``, master name ``main``), and
alternates

- ``write``: ``SET`` of its next key on the primary;
- ``read``: ``GET`` of its last key from a replica (the primary when no replica
  is known).

Every command is one attempt with a 0.5 s socket timeout, so a dead primary
shows as failures within half a second, not as a slow success. A failed
connection is dropped and the next command asks the sentinels again: that is
redis-py's ``SentinelConnectionPool``; a primary that was demoted answers
``READONLY``, which the pool also turns into a new question to the sentinels.

One ``Auditor`` asks every redis directly for its ``ROLE`` twice a second and
reports ``primaries``: a failure when more than one answers ``master``. That
is how the example sees a restarted old primary come back as a second, empty
primary until Sentinel demotes it (README).

Environment (the topology's ``load.env`` fills it from templates):

``REDIS_SENTINELS``  ``host:port,host:port,...`` of every sentinel. Empty (the
                     sentinels are switched off): clients use Locust's
                     ``--host`` (``redis://127.0.0.1:PORT``, the initial
                     primary) directly, as a client without Sentinel would.
``REDIS_NODES``      ``host:port,...`` of every redis, for the auditor.
``REDIS_MASTER``     the monitored name (default ``main``).
``REDIS_TIMEOUT``    socket timeout in seconds (default 0.5).
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from locust import User, between, constant, task
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

MASTER = os.environ.get("REDIS_MASTER", "main")
TIMEOUT = float(os.environ.get("REDIS_TIMEOUT", "0.5"))


def _addresses(variable: str) -> list[tuple[str, int]]:
    out = []
    for item in os.environ.get(variable, "").replace(" ", ",").split(","):
        if item.strip():
            host, _, port = item.strip().rpartition(":")
            out.append((host or "127.0.0.1", int(port)))
    return out


SENTINELS = _addresses("REDIS_SENTINELS")
NODES = _addresses("REDIS_NODES")

_OPTIONS: dict[str, Any] = {
    "socket_timeout": TIMEOUT,
    "socket_connect_timeout": TIMEOUT,
    # One attempt per request: redis-py 6 retries three times by default, which
    # would hide an outage inside slow successes.
    "retry": Retry(NoBackoff(), 0),
}


class Client(User):
    wait_time = between(0.05, 0.15)

    def on_start(self) -> None:
        self.prefix = f"locust:{uuid.uuid4().hex[:8]}"
        self.numbers = itertools.count()
        self.last: tuple[str, str] | None = None
        if SENTINELS:
            sentinel = Sentinel(SENTINELS, sentinel_kwargs=dict(_OPTIONS), **_OPTIONS)
            self.primary = sentinel.master_for(MASTER, **_OPTIONS)
            self.replica = sentinel.slave_for(MASTER, **_OPTIONS)
        else:
            if not self.host:
                raise RuntimeError("no REDIS_SENTINELS and no --host: nowhere to connect")
            self.primary = redis.Redis.from_url(self.host, **_OPTIONS)
            self.replica = self.primary

    def on_stop(self) -> None:
        for client in {id(c): c for c in (self.primary, self.replica)}.values():
            client.close()

    @task
    def write(self) -> None:
        key, value = f"{self.prefix}:{next(self.numbers) % 1000}", uuid.uuid4().hex
        if _timed(self, "write", lambda: self.primary.set(key, value)):
            self.last = (key, value)

    @task
    def read(self) -> None:
        if self.last is None:
            return
        key, _ = self.last
        _timed(self, "read", lambda: self.replica.get(key))


class Auditor(User):
    """Counts the redis instances that call themselves a primary."""

    fixed_count = 1
    wait_time = constant(0.5)

    def on_start(self) -> None:
        self.nodes = {f"{h}:{p}": redis.Redis(host=h, port=p, **_OPTIONS) for h, p in NODES}

    def on_stop(self) -> None:
        for client in self.nodes.values():
            client.close()

    @task
    def primaries(self) -> None:
        if not self.nodes:
            return
        started = time.perf_counter()
        masters = []
        for address, client in self.nodes.items():
            try:
                role = client.execute_command("ROLE")
            except redis.RedisError:
                continue  # a dead redis is no primary; the writes show it
            if role and role[0] in (b"master", "master"):
                masters.append(address)
        error = None
        if len(masters) > 1:
            error = RuntimeError(f"{len(masters)} primaries: {', '.join(masters)}")
        self.environment.events.request.fire(
            request_type="redis", name="primaries",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=len(masters), response=None, context={}, exception=error)


def _timed(user: User, name: str, command: Callable[[], object]) -> bool:
    started = time.perf_counter()
    error: Exception | None = None
    result: object = None
    try:
        result = command()
    except redis.RedisError as exc:
        # redis-py puts the whole client's repr in some messages; Locust groups
        # failures by message, so keep the part that says what happened.
        error = type(exc)(str(exc).split(" : ")[0][:200])
    user.environment.events.request.fire(
        request_type="redis", name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=len(result) if isinstance(result, bytes) else 0,
        response=None, context={}, exception=error)
    return error is None
