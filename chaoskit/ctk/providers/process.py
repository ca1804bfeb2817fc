"""``type: process``: a program run to completion, output ``{status, stdout, stderr}``.

As in CTK, a list of arguments runs without a shell and a string runs through
one, and a non-zero exit is an output, not a failure. Unlike CTK the program
gets its own process group, killed on a time-out or an interruption, so a
shell's children do not outlive the run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import threading
from typing import Any

from chaoskit.ctk.errors import ActivityFailed
from chaoskit.ctk.model import ProcessProvider
from chaoskit.ctk.substitute import Configuration, Secrets, substitute


def resolve_path(provider: ProcessProvider) -> str | None:
    """The program's path as CTK finds it (``~`` expanded, then looked up on PATH)."""
    return shutil.which(os.path.expanduser(provider.path))


class LiveProcesses:
    """The programs activities of one run have running, so an interruption can kill those
    running in background activities too (one per run: two runs never share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()

    def add(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.add(process)

    def discard(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(process)

    def kill_all(self) -> int:
        """SIGKILL every running program's process group; how many there were."""
        with self._lock:
            running = list(self._running)
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        return len(running)


def run_process(provider: ProcessProvider, configuration: Configuration,
                secrets: Secrets, live: LiveProcesses | None = None) -> Any:
    path = resolve_path(provider)
    if path is None:
        raise ActivityFailed(f"path '{provider.path}' cannot be found")
    arguments = substitute(provider.arguments, configuration, secrets)
    command: str | list[str]
    if isinstance(arguments, str):
        command = f"{path} {arguments}"
    else:
        items = arguments or []
        if isinstance(items, dict):
            items = list(itertools.chain.from_iterable(items.items()))
        command = [path, *(str(p) for p in items if p not in (None, ""))]
    try:
        process = subprocess.Popen(command, shell=isinstance(command, str),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
    except OSError as error:  # not executable, or gone since the preflight
        raise ActivityFailed(f"cannot run {path}: {error.strerror}") from None
    if live is not None:
        live.add(process)
    try:
        stdout, stderr = process.communicate(timeout=provider.timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise ActivityFailed("process activity took too long to complete") from None
    except BaseException:
        _kill(process)
        raise
    finally:
        if live is not None:
            live.discard(process)
    return {"status": process.returncode, "stdout": decode(stdout), "stderr": decode(stderr)}


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def decode(data: bytes) -> str:
    """UTF-8 as CTK reads most output; bytes that are not UTF-8 are read as Latin-1 rather
    than failing the activity."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
