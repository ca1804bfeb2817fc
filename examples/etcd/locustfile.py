"""Clients writing and reading keys through etcd's v3 JSON gateway, with endpoint failover.

Plain HTTP, no etcd package: ``POST /v3/kv/put`` and ``POST /v3/kv/range`` with
base64 keys and values (the gRPC gateway every etcd 3.4 member serves on its
client port).

The defence under test is the client's own, as etcd's Go client does it: it is
given every member's client URL (``ETCD_ENDPOINTS``, comma-separated, first
member first; the topology fills it) and talks to one of them; when that one
refuses the connection, times out or answers 5xx, the call moves to the next
endpoint and the client stays there. An attempt that fails is retried on the
next endpoint, one pass over the list, then once more after 200 ms (a leader
election takes ~0.5-1 s with the topology's timeouts). With one endpoint (the
topology's ``client_failover`` disabled) the same retries all go to the same,
dead, member.

Each logical operation is reported once, as ``put`` or ``get``: success if
one attempt succeeded (and a get returned the value this client last wrote),
its time the whole sequence. The attempts themselves are not reported, so
``load.success_ratio`` is the share of operations the application saw succeed.
"""

from __future__ import annotations

import base64
import itertools
import os
import time
from typing import Any

import requests
from locust import User, between, task

ENDPOINTS = [e.strip().rstrip("/") for e in os.environ.get("ETCD_ENDPOINTS", "").split(",")
             if e.strip()]
PASSES = 2
CONNECT_TIMEOUT, READ_TIMEOUT = 0.5, 2.0

_NUMBERS = itertools.count()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class EtcdClient(User):
    wait_time = between(0.05, 0.15)

    def on_start(self) -> None:
        # Without ETCD_ENDPOINTS (run by hand), the one --host Locust was given.
        self.endpoints = ENDPOINTS or [(self.host or "").rstrip("/")]
        number = next(_NUMBERS)
        self.current = 0  # every client starts on the first member, as configured
        self.session = requests.Session()
        self.key = f"chaoskit/client-{number}"
        self.written: str | None = None
        self.sequence = 0

    def on_stop(self) -> None:
        self.session.close()

    def _call(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        """POST to the current endpoint, failing over to the next on a failure."""
        last: Exception | None = None
        for attempt in range(PASSES * len(self.endpoints)):
            if attempt and attempt % len(self.endpoints) == 0:
                time.sleep(0.2)
            url = self.endpoints[self.current] + path
            try:
                response = self.session.post(url, json=body,
                                             timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
                if response.status_code < 500:
                    response.raise_for_status()
                    answer: dict[str, Any] = response.json()
                    return answer
                last = RuntimeError(f"{url} answered {response.status_code}: "
                                    f"{response.text[:120]}")
            except (requests.ConnectionError, requests.Timeout) as error:
                last = RuntimeError(f"{url}: {type(error).__name__}")
            self.current = (self.current + 1) % len(self.endpoints)
        raise last or RuntimeError("no endpoint")

    def _report(self, name: str, started: float, error: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="ETCD", name=name, response_time=(time.perf_counter() - started) * 1000,
            response_length=0, response=None, context={}, exception=error)

    @task(2)
    def put(self) -> None:
        self.sequence += 1
        value = f"{self.key}:{self.sequence}"
        started = time.perf_counter()
        try:
            self._call("/v3/kv/put", {"key": _b64(self.key), "value": _b64(value)})
        except Exception as error:  # reported, not raised: Locust would log a traceback
            self._report("put", started, error)
            return
        # Acknowledged: a linearizable read from any member must now see it.
        self.written = value
        self._report("put", started, None)

    @task(1)
    def get(self) -> None:
        if self.written is None:
            return
        started = time.perf_counter()
        try:
            answer = self._call("/v3/kv/range", {"key": _b64(self.key)})
            kvs = answer.get("kvs") or []
            found = base64.b64decode(kvs[0]["value"]).decode() if kvs else None
            # A put that timed out may still have committed, so a newer value is fine;
            # an older one (or none) is a stale read.
            if found is None or int(found.rsplit(":", 1)[1]) < int(self.written.rsplit(":", 1)[1]):
                raise RuntimeError(f"stale read: {found!r}, last acknowledged {self.written!r}")
        except Exception as error:
            self._report("get", started, error)
            return
        self._report("get", started, None)
