"""Stopping asyncio tasks for certain."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def cancel_all(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel every task and wait until each has ended, cancelling again those a cancel did
    not end: code that swallows one (``asyncio.wait_for`` on 3.11, at the edge of its
    timeout) must not keep a run from its revert or a platform from closing."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    # Collected, so that an error a task ended with is not reported as never retrieved.
    await asyncio.gather(*tasks, return_exceptions=True)
