"""One asyncio event loop in a background thread, called into from synchronous code.

pytest runs tests synchronously; chaoskit's platform, load driver and faults
are asyncio. Rather than an ``asyncio.run`` per call (which would end the
loop the instances' supervisors live on), one loop runs for a system's whole
life in a daemon thread, and every call is submitted with
``run_coroutine_threadsafe`` and waited for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from chaoskit.errors import ChaoskitError

T = TypeVar("T")


class LoopThread:
    """A private event loop running in a daemon thread until :meth:`stop`."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def call(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None,
             what: str = "a chaoskit call") -> T:
        """Run ``coro`` on the loop and return its result (or raise its exception).

        A Ctrl-C in the calling thread does not cancel the coroutine: an inject
        cut off half-way could not be reverted. The call goes on in the
        background and :meth:`drain` waits for it before anything is torn down.
        """
        if not self.running:
            coro.close()
            raise ChaoskitError(f"{what}: the system's event loop has stopped")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ChaoskitError(f"{what} did not finish within {timeout:g}s") from None

    def drain(self, timeout: float) -> None:
        """Wait (bounded) for calls still running, e.g. one a Ctrl-C walked away from."""
        concurrent.futures.wait(list(self._pending), timeout=timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop after cancelling what is left on it, and close it. Idempotent."""
        if not self.running:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
            # Whatever is still scheduled (a health poll, a reader) is cancelled and
            # awaited, so closing the loop warns about nothing left pending.
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()
