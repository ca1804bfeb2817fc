"""cancel_all stops tasks for certain, even one that swallows a cancel."""

from __future__ import annotations

import asyncio

from chaoskit.tasks import cancel_all


async def test_a_task_that_swallows_its_first_cancel_is_cancelled_again() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 1:
                    raise

    task = asyncio.ensure_future(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_all([task]), 5)
    assert task.cancelled() and swallowed == 2


async def test_an_error_a_task_ended_with_is_collected() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.ensure_future(fails())
    await asyncio.sleep(0)
    await cancel_all([task])
    assert task.done() and isinstance(task.exception(), RuntimeError)
