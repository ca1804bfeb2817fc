"""Explicit capacity: at most K requests in service at once, each holding its worker S ms.

A real server's capacity is its workers (threads, pool connections, cores)
divided by how long each request holds one. The bundled services are asyncio
and do next to no work, so left alone their capacity is whatever the machine's
CPU gives: a surge overloads them on a slow or busy machine and not on a fast
one, and an overload experiment's verdict then depends on where it runs.

``WORKERS`` (K) and ``SERVICE_MS`` (S), in a topology's ``env:`` or as
``--workers`` / ``--service-ms``, make capacity a property of the service
instead. A request waits, first come first served, for one of K workers, holds
it for S ms of simulated work (an ``asyncio.sleep``: no CPU, so the machine's
speed does not enter) and then for the rest of its handling (its upstream
calls), so one instance serves at most K / S requests per second, wherever it
runs. The wait is unbounded, as a server's accept queue is: refusing work early
is load shedding's job, which runs *before* this (see
:mod:`targets.patterns.load_shedding`). 0 (the default) means no limit / no
service time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from targets.common.metrics import Sample


class Capacity:
    """K workers (0: unlimited) and S seconds of service time per request."""

    def __init__(self, workers: int = 0, service_time: float = 0.0) -> None:
        if workers < 0 or service_time < 0:
            raise ValueError("workers and service time must be >= 0")
        self.workers = workers
        self.service_time = service_time
        # asyncio.Semaphore wakes its waiters in arrival order (FIFO).
        self._slots = asyncio.Semaphore(workers) if workers else None
        self.busy = 0
        self.queued = 0

    @property
    def limited(self) -> bool:
        return bool(self.workers or self.service_time)

    @property
    def rate(self) -> float | None:
        """The most requests per second this instance can serve (K / S), if bounded."""
        return self.workers / self.service_time if self.workers and self.service_time else None

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        """Hold a worker for the duration of the block, after S of service time."""
        if self._slots is None:
            await self._work()
            yield
            return
        self.queued += 1
        try:
            await self._slots.acquire()
        finally:
            self.queued -= 1
        self.busy += 1
        try:
            await self._work()
            yield
        finally:
            self.busy -= 1
            self._slots.release()

    async def _work(self) -> None:
        if self.service_time:
            await asyncio.sleep(self.service_time)

    def samples(self) -> list[Sample]:
        return [("capacity_workers", {}, float(self.workers)),
                ("capacity_busy", {}, float(self.busy)),
                ("capacity_queued", {}, float(self.queued))]
