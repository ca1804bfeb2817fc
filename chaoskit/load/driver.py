"""Runs Locust as a subprocess and hands its one-second samples to the runner.

Locust lives in its own process because ``import locust`` monkey-patches the
whole interpreter with gevent, which would starve (and be starved by)
chaoskit's asyncio loop. This module must therefore never import Locust: the
subprocess is ``python -m chaoskit.load.main``, which prints one
``CHAOSKIT_SAMPLE {json}`` line per completed second (see
``chaoskit.load.buckets`` for the bucketing contract).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import signal
import site
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from chaoskit.errors import LoadError
from chaoskit.load.buckets import READY, SLO_ENV, parse_line, percentile
from chaoskit.model.experiment import LoadSpec
from chaoskit.model.history import LoadSample
from chaoskit.state import RunState

_logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

DEFAULT_MAX_DURATION = 3600.0
"""Locust's own run-time bound when the caller gives none: a forgotten load stops by itself."""

RUN_TIME_MARGIN = 60.0
"""Locust's bound lies this far past the caller's, so the runner's own limit acts first."""

READY_TIMEOUT = 60.0
"""Seconds Locust may take to import the locustfile and start its users."""

STOP_GRACE = 5.0
"""Seconds Locust gets after SIGTERM to stop users and write its final JSON before SIGKILL."""

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
"""The directory holding the ``chaoskit`` package."""

_LINE_LIMIT = 16 * 1024 * 1024
"""A sample with many request names and wide histograms is far above asyncio's 64 KiB default."""


def check_host(host: str, allow_hosts: Iterable[str] = ()) -> str:
    """Return ``host`` if it is a URL on a loopback address (or on one of
    ``allow_hosts``, the experiment's ``settings.allow_hosts``), else raise LoadError.

    Any scheme (``redis://127.0.0.1:6379`` for a Redis User), never another
    host unless the experiment lists it: chaoskit loads systems on this machine;
    pointing Locust elsewhere unasked would be an attack on someone else's service.
    """
    try:
        parts = urlsplit(host)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as error:
        raise LoadError(f"load host {host!r} is not a valid URL: {error}") from None
    allowed = LOOPBACK_HOSTS | {h.strip("[]").lower() for h in allow_hosts}
    if not parts.scheme or parts.hostname not in allowed or parts.username:
        also = f", {', '.join(sorted(allow_hosts))}" if allow_hosts else ""
        raise LoadError(
            f"load host {host!r} refused: chaoskit only sends load to 127.0.0.1, localhost "
            f"or [::1]{also} (http://127.0.0.1:PORT, redis://127.0.0.1:PORT ...; list other "
            "hosts in settings.allow_hosts)"
        )
    return host


@dataclass(frozen=True)
class EndpointTotals:
    """Locust's final whole-run numbers for one endpoint (name and HTTP method)."""

    name: str
    method: str
    requests: int
    failures: int
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class LoadDriver:
    """One Locust subprocess, from ``start`` to ``stop``. Not reusable once started."""

    def __init__(self) -> None:
        self.samples_received = 0
        self.exit_code: int | None = None
        self.run_dir: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0
        self._state: RunState | None = None
        self._ready = asyncio.Event()
        self._first_sample: LoadSample | None = None
        self._sampled = asyncio.Event()
        self._exited = asyncio.Event()
        self._stop_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and not self._exited.is_set()

    @property
    def log_path(self) -> Path | None:
        return self.run_dir / "locust.log" if self.run_dir is not None else None

    async def start(
        self,
        spec: LoadSpec,
        host: str,
        run_dir: Path,
        on_sample: Callable[[LoadSample], None],
        state: RunState | None = None,
        *,
        max_duration: float | None = None,
        base_dir: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        allow_hosts: Iterable[str] = (),
    ) -> None:
        """Start Locust against ``host`` and return once its users are starting.

        ``max_duration`` bounds the run (Locust stops itself ``RUN_TIME_MARGIN``
        seconds after it); a relative locustfile resolves against ``base_dir``
        (default: the working directory); ``env`` is added to Locust's environment
        (``load.env``, rendered). Raises LoadError for a refused host, a
        missing locustfile, or a Locust that dies or stalls before starting — with
        the end of ``<run_dir>/locust.log`` as the reason, never a traceback.
        """
        if self._proc is not None:
            raise LoadError("this load driver was already started")
        check_host(host, allow_hosts)
        locustfile = Path(base_dir or ".") / spec.locustfile
        if not locustfile.is_file():
            raise LoadError(f"locustfile {str(locustfile)!r} not found")
        locustfile = locustfile.resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = run_dir
        self._state = state
        bound = math.ceil((max_duration or DEFAULT_MAX_DURATION) + RUN_TIME_MARGIN)
        args = [
            "-f", str(locustfile), "--headless",
            "-u", str(spec.users), "-r", _number(spec.spawn_rate), "--host", host,
            "--only-summary", "--exit-code-on-error", "0", "--loglevel", "WARNING",
            "-t", f"{bound}s", "--stop-timeout", "0",
            "--json-file", str((run_dir / "locust_final").resolve()),
        ]
        # LOCUST_* variables would override our flags' siblings (--processes,
        # --master ...) behind our back: this run is defined by the arguments alone.
        child = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        env = {**child, **(env or {})}
        env[SLO_ENV] = _number(spec.slo * 1000)
        if _PACKAGE_ROOT not in site.getsitepackages():
            # chaoskit used from a checkout: the child, running from the locustfile's
            # directory, must still import this same chaoskit. (An installed one is
            # found anyway; adding site-packages to PYTHONPATH would put it before
            # the standard library.)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        if state is not None:
            # The run marker: rollback finds Locust (and its workers) by it even if
            # the runner dies before the pid below is recorded.
            env = state.spawn_env(env)
        self._log = (run_dir / "locust.log").open("ab")
        # A reused run folder keeps older logs: failures are explained from here on.
        self._log_offset = self._log.tell()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                # -P: the working directory must not shadow chaoskit before Locust
                # starts; Locust adds it back itself when it loads the locustfile.
                sys.executable, "-P", "-m", "chaoskit.load.main", *args,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=self._log, env=env, limit=_LINE_LIMIT,
                # Its own session: a Ctrl-C at the terminal reaches the runner, which
                # stops the load in order, not Locust directly. The locustfile's
                # directory as cwd so its relative data files load as under `locust`.
                start_new_session=True, cwd=str(locustfile.parent),
            )
            if state is not None:
                state.add_process(self._proc.pid, "load", group=True)
            self._reader = asyncio.create_task(self._read(on_sample), name="locust-reader")
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self) -> None:
        ready = asyncio.create_task(self._ready.wait())
        exited = asyncio.create_task(self._exited.wait())
        try:
            await asyncio.wait({ready, exited}, timeout=READY_TIMEOUT,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            exited.cancel()
        if self._ready.is_set():
            return
        if self._exited.is_set():
            raise LoadError(f"Locust exited before starting (code {self.exit_code}): "
                            f"{self._failure_reason()}")
        raise LoadError(f"Locust did not start within {READY_TIMEOUT:.0f}s: "
                        f"{self._failure_reason()}")

    async def wait_first_sample(self, timeout: float) -> LoadSample:
        """The first sample, once it arrived; LoadError if Locust died or none came in time."""
        if self._proc is None:
            raise LoadError("the load was not started")
        sampled = asyncio.create_task(self._sampled.wait())
        exited = asyncio.create_task(self._exited.wait())
        try:
            await asyncio.wait({sampled, exited}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            sampled.cancel()
            exited.cancel()
        if self._first_sample is not None:
            return self._first_sample
        if self._exited.is_set():
            raise LoadError(f"Locust exited (code {self.exit_code}) before its first sample: "
                            f"{self._failure_reason()}")
        raise LoadError(f"no load sample within {timeout:g}s (see {self.log_path})")

    async def _read(self, on_sample: Callable[[LoadSample], None]) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            while True:
                try:
                    line_bytes = await self._proc.stdout.readline()
                except ValueError as error:  # a line over _LINE_LIMIT: skip it, keep streaming
                    _logger.warning("chaoskit: oversized line from Locust skipped: %s", error)
                    continue
                if not line_bytes:
                    break
                line = line_bytes.decode(errors="replace").rstrip("\n")
                if line == READY:
                    self._ready.set()
                    continue
                try:
                    sample = parse_line(line)
                except ValidationError as error:
                    _logger.warning("chaoskit: unreadable load sample skipped: %s", error)
                    continue
                if sample is None:
                    # The locustfile's own prints: keep them with Locust's log.
                    self._write_log(line_bytes)
                    continue
                self.samples_received += 1
                if self._first_sample is None:
                    self._first_sample = sample
                    self._sampled.set()
                try:
                    on_sample(sample)
                except Exception:
                    # A bug in the consumer must not end the stream for everyone else.
                    _logger.exception("chaoskit: load sample consumer failed")
        finally:
            self.exit_code = await self._proc.wait()
            self._exited.set()

    async def stop(self) -> None:
        """Stop Locust and wait until no process of it is left. Idempotent; safe concurrently.

        SIGTERM first, so Locust stops its users and writes its final JSON; SIGKILL
        to the whole process group after ``STOP_GRACE`` seconds.
        """
        if self._stop_task is None:
            self._stop_task = asyncio.ensure_future(self._stop())
        # Shielded: a cancelled teardown must still leave no process behind.
        await asyncio.shield(self._stop_task)

    async def _stop(self) -> None:
        proc = self._proc
        try:
            if proc is None:
                return
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), STOP_GRACE)
                except TimeoutError:
                    _logger.warning("chaoskit: Locust ignored SIGTERM for %ss, killing it",
                                    STOP_GRACE)
            _kill_group(proc)
            await proc.wait()
            if self._reader is not None:
                # EOF follows the exit unless a stray holds stdout open; do not wait forever.
                try:
                    await asyncio.wait_for(asyncio.shield(self._reader), 2.0)
                except TimeoutError:
                    self._reader.cancel()
                    self.exit_code = proc.returncode
                    self._exited.set()
            if self._state is not None:
                self._state.remove_process(proc.pid)
        finally:
            if self._log is not None:
                self._log.close()

    def final_stats(self) -> list[EndpointTotals] | None:
        """Locust's whole-run totals per endpoint, from its ``--json-file``; None if absent.

        Written when Locust shuts down, so read it after ``stop()``.
        """
        if self.run_dir is None:
            return None
        return read_final_stats(self.run_dir / "locust_final.json")

    def _write_log(self, data: bytes) -> None:
        if self._log is not None and not self._log.closed:
            self._log.write(data)
            self._log.flush()

    def _failure_reason(self) -> str:
        if self.log_path is None:
            return "no log"
        return failure_reason(self.log_path, self._log_offset)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL Locust's process group: the leader if alive, and anything the locustfile started.

    Once the leader is reaped its pid may be reused, but Linux never hands out
    a number still used as a process group id: while strays of ours remain, the
    number is ours. A live process holding the number after our leader was
    reaped is therefore someone else's, and its group is left alone.
    """
    if proc.returncode is not None and Path(f"/proc/{proc.pid}").exists():
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def read_final_stats(path: Path) -> list[EndpointTotals] | None:
    """Parse Locust's ``--json-file`` output (a list of per-endpoint dicts)."""
    try:
        entries: list[dict[str, Any]] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    totals = []
    for entry in entries:
        histogram = {int(k): int(v) for k, v in entry.get("response_times", {}).items()}
        requests = int(entry.get("num_requests", 0))
        timed = requests - int(entry.get("num_none_requests", 0))
        totals.append(EndpointTotals(
            name=str(entry.get("name", "")), method=str(entry.get("method") or ""),
            requests=requests, failures=int(entry.get("num_failures", 0)),
            avg_ms=float(entry.get("total_response_time", 0.0)) / timed if timed else None,
            p50_ms=percentile(histogram, 0.5), p95_ms=percentile(histogram, 0.95),
            p99_ms=percentile(histogram, 0.99),
        ))
    return totals


_OWN_CODE = (str(Path(_PACKAGE_ROOT) / "chaoskit") + os.sep, "site-packages", "<frozen")
"""Frames in chaoskit, installed packages or the interpreter: never the user's mistake."""
_TRACEBACK_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')


_LOG_PREFIX = re.compile(r"^\[[^\]]*\] [^/\s]+/(?P<level>[A-Z]+)/[^:]+: ")
"""Locust's log line prefix: ``[2026-01-01 10:00:00,123] host/ERROR/locust.main: ``."""


def failure_reason(log: Path, offset: int = 0, lines: int = 5) -> str:
    """Why Locust failed, from its log after byte ``offset``, as a user-facing message.

    A Python traceback is reduced to its exception line and the innermost frame
    outside Locust and chaoskit (normally the locustfile line). Otherwise
    Locust's own ERROR/CRITICAL lines, else the last few lines, without
    Locust's timestamp prefix.
    """
    try:
        with log.open("rb") as data:
            data.seek(offset)
            text = data.read().decode(errors="replace")
    except OSError:
        return f"(no log at {log})"
    tail = [line for line in text.splitlines() if line.strip()]
    if not tail:
        return f"no output (see {log})"
    start = max((i for i, line in enumerate(tail) if line.startswith("Traceback")), default=None)
    if start is None:
        matches = [(_LOG_PREFIX.match(line), line) for line in tail]
        errors = [line[m.end():] for m, line in matches
                  if m and m["level"] in {"ERROR", "CRITICAL"}]
        plain = [line[m.end():] if m else line for m, line in matches]
        return " | ".join((errors or plain)[-lines:])
    where = ""
    for line in tail[start:]:
        frame = _TRACEBACK_FRAME.match(line)
        if frame and not any(own in frame["file"] for own in _OWN_CODE):
            where = f"{frame['file']}:{frame['line']}: "
    exception = next((line.strip() for line in reversed(tail[start:])
                      if not line.startswith((" ", "\t"))), tail[-1].strip())
    return f"{where}{exception}"


def _number(value: float) -> str:
    """A number as a CLI argument: ``10`` rather than ``10.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
