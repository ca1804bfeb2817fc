"""The embedded server as a child process (``python -m chaoskit proxy serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from chaoskit.errors import ProxyError
from chaoskit.proxy.server.app import READY_PREFIX
from chaoskit.state import RunState

START_TIMEOUT = 15.0


async def start_embedded_subprocess(
    state: RunState | None = None, host: str = "127.0.0.1", port: int = 0,
    log: Path | None = None,
) -> tuple[str, asyncio.subprocess.Process]:
    """Start the server in its own process group; returns (API URL, process).

    The pid is recorded in ``state`` as ``"proxy-server"``, and the process carries
    the run's marker (:meth:`RunState.spawn_env`), so a crashed run's rollback kills
    it. Its stderr goes to ``log`` when given (a run's terminal is the runner's), else
    it is inherited. Stop it with :func:`stop_embedded_subprocess`.
    """
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(log.open("ab")) if log is not None else None
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chaoskit", "proxy", "serve", "--host", host,
            "--port", str(port), stdout=asyncio.subprocess.PIPE, stderr=stderr,
            stdin=asyncio.subprocess.DEVNULL, start_new_session=True,
            # The run marker, so rollback finds it even before its pid is recorded.
            env=state.spawn_env() if state is not None else None,
        )
    if state is not None:
        state.add_process(process.pid, "proxy-server")
    try:
        async with asyncio.timeout(START_TIMEOUT):
            url = await _ready_url(process)
    except (TimeoutError, ProxyError):
        await stop_embedded_subprocess(process, state)
        raise ProxyError("the embedded proxy server did not start") from None
    return url, process


async def _ready_url(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while True:
        line = await process.stdout.readline()
        if not line:
            raise ProxyError("the embedded proxy server exited at start")
        text = line.decode(errors="replace").strip()
        if text.startswith(READY_PREFIX):
            return text[len(READY_PREFIX):]


async def stop_embedded_subprocess(process: asyncio.subprocess.Process,
                                   state: RunState | None = None, timeout: float = 5.0) -> None:
    """SIGTERM (clean close), then SIGKILL the group if it lingers; forget it in ``state``."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    if state is not None:
        state.remove_process(process.pid)
