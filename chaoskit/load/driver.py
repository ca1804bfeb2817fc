"""Runs Locust as a subprocess and hands its one-second samples to the runner.

Locust lives in its own process because ``import locust`` monkey-patches the
whole interpreter with gevent, which would starve (and be starved by)
chaoskit's asyncio loop. This module must therefore never import Locust: the
subprocess is ``python -m chaoskit.load.main``, which prints one
``CHAOSKIT_SAMPLE {json}`` line per completed second (see
``chaoskit.load.buckets`` for the bucketing contract).

With ``load.workers`` the load is Locust's master and N worker processes
(``chaoskit.load.distributed`` says why this way); every worker streams its
own seconds and the driver merges them (``chaoskit.load.merge``), so the
runner sees one stream either way.
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
import socket
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from chaoskit.errors import LoadError
from chaoskit.load.buckets import COHORT_SEED_ENV, READY, SLO_ENV, parse_line, percentile
from chaoskit.load.distributed import free_port, master_args, worker_args, worker_count
from chaoskit.load.merge import SampleMerger
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


@dataclass
class _Locust:
    """One Locust process of the load: the only one, the master, or a worker."""

    name: str
    """For messages: "Locust", "Locust master", "Locust worker 2"."""
    proc: asyncio.subprocess.Process
    log_path: Path
    log: IO[bytes]
    log_offset: int
    """Where this start's output begins in a reused log: failures are explained from here."""
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    def failure_reason(self) -> str:
        return failure_reason(self.log_path, self.log_offset)


class LoadDriver:
    """One load, from ``start`` to ``stop``: one Locust process, or (``load.workers``)
    Locust's master and its workers. Not reusable once started."""

    def __init__(self) -> None:
        self.samples_received = 0
        self.exit_code: int | None = None
        self.error: LoadError | None = None
        """Why the load ended before ``stop``: a Locust process (a worker, the master) exited."""
        self.run_dir: Path | None = None
        self._procs: list[_Locust] = []
        """The single Locust or the master first, then the workers."""
        self._merger: SampleMerger | None = None
        self._merge_changed = asyncio.Event()
        self._expirer: asyncio.Task[None] | None = None
        self._on_sample: Callable[[LoadSample], None] = lambda _: None
        self._on_error: Callable[[LoadError], None] | None = None
        self._state: RunState | None = None
        self._first_sample: LoadSample | None = None
        self._sampled = asyncio.Event()
        self._ended = asyncio.Event()
        """The load ended: its (lead) process exited, or with workers any one of them."""
        self._stopping = False
        self._stop_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """The single Locust's pid, or the master's."""
        return self._procs[0].proc.pid if self._procs else None

    @property
    def pids(self) -> list[int]:
        """Every Locust process started: the single one or the master, then the workers."""
        return [locust.proc.pid for locust in self._procs]

    @property
    def workers(self) -> int:
        """How many workers the load runs with (0: one plain Locust process)."""
        return max(0, len(self._procs) - 1)

    @property
    def late_samples(self) -> int:
        """Worker samples that came after their second was merged without them (dropped)."""
        return self._merger.late if self._merger is not None else 0

    @property
    def running(self) -> bool:
        return bool(self._procs) and not self._ended.is_set()

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
        on_error: Callable[[LoadError], None] | None = None,
    ) -> None:
        """Start Locust against ``host`` and return once its users are starting.

        ``max_duration`` bounds the run (Locust stops itself ``RUN_TIME_MARGIN``
        seconds after it); a relative locustfile resolves against ``base_dir``
        (default: the working directory); ``env`` is added to Locust's environment
        (``load.env``, rendered). With ``spec.workers``, a master and its workers
        (``chaoskit.load.distributed``); their per-second samples are merged
        (``chaoskit.load.merge``) and ``on_sample`` sees one stream as from one
        Locust. Raises LoadError for a refused host, a missing locustfile, or a
        Locust that dies or stalls before starting — with the end of its log
        (``<run_dir>/locust.log``, a worker's ``locust-worker-N.log``) as the
        reason, never a traceback. Once started, a Locust process that exits before
        ``stop`` (a worker, the master, the single Locust) ends the load: ``error``
        says why and ``on_error`` is called with it at once (the samples stop too).
        """
        if self._procs or self._stop_task is not None:
            raise LoadError("this load driver was already started")
        check_host(host, allow_hosts)
        locustfile = Path(base_dir or ".") / spec.locustfile
        if not locustfile.is_file():
            raise LoadError(f"locustfile {str(locustfile)!r} not found")
        locustfile = locustfile.resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = run_dir
        self._state = state
        self._on_sample = on_sample
        self._on_error = on_error
        bound = math.ceil((max_duration or DEFAULT_MAX_DURATION) + RUN_TIME_MARGIN)
        common = ["-f", str(locustfile), "--host", host, "--loglevel", "WARNING"]
        lead = [
            *common, "--headless", "-u", str(spec.users), "-r", _number(spec.spawn_rate),
            "--only-summary", "--exit-code-on-error", "0",
            "-t", f"{bound}s", "--stop-timeout", "0",
            "--json-file", str((run_dir / "locust_final").resolve()),
        ]
        child_env = self._child_env(spec, env, state)
        workers = worker_count(spec)
        try:
            if workers is None:
                await self._spawn("Locust", "load", lead, "locust.log", child_env,
                                  locustfile.parent, self._deliver)
            else:
                port = free_port()
                self._merger = SampleMerger(range(1, workers + 1))
                self._expirer = asyncio.create_task(self._expire(), name="locust-merge")
                # The master's own samples are empty (requests happen on workers):
                # only its READY and its log matter.
                await self._spawn("Locust master", "load master",
                                  [*lead, *master_args(workers, port, READY_TIMEOUT)],
                                  "locust.log", child_env, locustfile.parent, None)
                for index in range(1, workers + 1):
                    await self._spawn(
                        f"Locust worker {index}", f"load worker {index}",
                        [*common, *worker_args(port)], f"locust-worker-{index}.log",
                        worker_environ(child_env, index), locustfile.parent,
                        self._worker_sink(index))
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    def _child_env(self, spec: LoadSpec, extra: Mapping[str, str] | None,
                   state: RunState | None) -> dict[str, str]:
        # LOCUST_* variables would override our flags' siblings (--processes,
        # --master ...) behind our back: this run is defined by the arguments alone.
        child = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        env = {**child, **(extra or {})}
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
        return env

    async def _spawn(self, name: str, role: str, args: list[str], log_name: str,
                     env: Mapping[str, str], cwd: Path,
                     sink: Callable[[LoadSample], None] | None) -> None:
        assert self.run_dir is not None
        log_path = self.run_dir / log_name
        log = log_path.open("ab")
        # A reused run folder keeps older logs: failures are explained from here on.
        # (Read before the spawn: the child's writes move this shared file offset.)
        offset = log.tell()
        try:
            proc = await asyncio.create_subprocess_exec(
                # -P: the working directory must not shadow chaoskit before Locust
                # starts; Locust adds it back itself when it loads the locustfile.
                sys.executable, "-P", "-m", "chaoskit.load.main", *args,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=log, env=env, limit=_LINE_LIMIT,
                # Its own session: a Ctrl-C at the terminal reaches the runner, which
                # stops the load in order, not Locust directly. The locustfile's
                # directory as cwd so its relative data files load as under `locust`.
                start_new_session=True, cwd=str(cwd),
            )
        except BaseException:
            log.close()
            raise
        locust = _Locust(name, proc, log_path, log, offset)
        self._procs.append(locust)
        if self._state is not None:
            self._state.add_process(proc.pid, role, group=True)
        locust.reader = asyncio.create_task(self._read(locust, sink), name=f"{name} reader")

    def _worker_sink(self, index: int) -> Callable[[LoadSample], None]:
        def sink(sample: LoadSample) -> None:
            assert self._merger is not None
            self._deliver_all(self._merger.add(index, sample, time.time()))
            self._merge_changed.set()
        return sink

    async def _expire(self) -> None:
        """Emit the seconds a late worker held back longer than the merge allows."""
        assert self._merger is not None
        while True:
            deadline = self._merger.deadline()
            self._merge_changed.clear()
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._merge_changed.wait()
            self._deliver_all(self._merger.expire(time.time()))

    async def _wait_ready(self) -> None:
        # A worker's READY means the master started the test and sent it its users.
        needed = self._procs[1:] or self._procs

        async def all_ready() -> None:
            for locust in needed:
                await locust.ready.wait()

        # Tasks, not a gather: a cancelled gather leaves an exception nobody retrieves.
        ready = asyncio.create_task(all_ready())
        ended = asyncio.create_task(self._ended.wait())
        try:
            await asyncio.wait({ready, ended}, timeout=READY_TIMEOUT,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            ended.cancel()
        if all(p.ready.is_set() for p in needed) and not self._ended.is_set():
            return
        failed = next((p for p in self._procs if p.exited.is_set()), None)
        if failed is not None:
            raise LoadError(f"{failed.name} exited before starting (code "
                            f"{failed.proc.returncode}): {failed.failure_reason()}")
        late = next(p for p in needed if not p.ready.is_set())
        raise LoadError(f"{late.name} did not start within {READY_TIMEOUT:.0f}s: "
                        f"{late.failure_reason()}")

    async def wait_first_sample(self, timeout: float) -> LoadSample:
        """The first sample, once it arrived; LoadError if Locust died or none came in time."""
        if not self._procs:
            raise LoadError("the load was not started")
        sampled = asyncio.create_task(self._sampled.wait())
        ended = asyncio.create_task(self._ended.wait())
        try:
            await asyncio.wait({sampled, ended}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            sampled.cancel()
            ended.cancel()
        if self._first_sample is not None:
            return self._first_sample
        if self.error is not None and self._merger is not None:
            raise self.error
        if self._ended.is_set():
            raise LoadError(f"Locust exited (code {self.exit_code}) before its first sample: "
                            f"{self._failure_reason()}")
        raise LoadError(f"no load sample within {timeout:g}s (see {self.log_path})")

    async def _read(self, locust: _Locust, sink: Callable[[LoadSample], None] | None) -> None:
        proc = locust.proc
        assert proc.stdout is not None
        try:
            while True:
                try:
                    line_bytes = await proc.stdout.readline()
                except ValueError as error:  # a line over _LINE_LIMIT: skip it, keep streaming
                    _logger.warning("chaoskit: oversized line from %s skipped: %s",
                                    locust.name, error)
                    continue
                if not line_bytes:
                    break
                line = line_bytes.decode(errors="replace").rstrip("\n")
                if line == READY:
                    locust.ready.set()
                    continue
                try:
                    sample = parse_line(line)
                except ValidationError as error:
                    _logger.warning("chaoskit: unreadable load sample skipped: %s", error)
                    continue
                if sample is None:
                    # The locustfile's own prints: keep them with Locust's log.
                    _append(locust.log, line_bytes)
                elif sink is not None:
                    sink(sample)
        finally:
            await proc.wait()
            locust.exited.set()
            self._exited(locust)

    def _exited(self, locust: _Locust) -> None:
        """A Locust process ended. Before ``stop`` that ends the load: ``error`` and
        ``on_error`` say why, and with workers the master and the rest are stopped."""
        if self._merger is not None and locust is not self._procs[0]:
            index = self._procs.index(locust)
            self._deliver_all(self._merger.worker_ended(index, time.time()))
        if self._stopping or self._ended.is_set():
            return
        code = locust.proc.returncode
        self.exit_code = code
        self._ended.set()
        if not all(p.ready.is_set() for p in (self._procs[1:] or self._procs)):
            return  # not started yet: ``start`` raises the failure and stops the rest
        if self._merger is None:
            self.error = LoadError(f"Locust {_ended_how(code)} during the load: "
                                   f"{locust.failure_reason()}")
        else:
            # One worker fewer is less load than the experiment asked for, and the
            # master would only log it as "missing" after three heartbeats and go on
            # with less: the load is over, as when a single Locust dies.
            self.error = LoadError(f"{locust.name} (pid {locust.proc.pid}) {_ended_how(code)} "
                                   "during the load; the load was stopped: "
                                   f"{locust.failure_reason()}")
            # In Locust's own log format, so the master's log explains the end too.
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            _append(self._procs[0].log, f"[{stamp},000] {socket.gethostname()}/ERROR/"
                    f"chaoskit.load: {self.error}\n".encode())
            if self._stop_task is None:
                self._stop_task = asyncio.ensure_future(self._stop())
        _logger.error("chaoskit: %s", self.error)
        if self._on_error is not None:
            try:
                self._on_error(self.error)
            except Exception:
                _logger.exception("chaoskit: load error consumer failed")

    def _deliver_all(self, samples: Iterable[LoadSample]) -> None:
        for sample in samples:
            self._deliver(sample)

    def _deliver(self, sample: LoadSample) -> None:
        self.samples_received += 1
        if self._first_sample is None:
            self._first_sample = sample
            self._sampled.set()
        try:
            self._on_sample(sample)
        except Exception:
            # A bug in the consumer must not end the stream for everyone else.
            _logger.exception("chaoskit: load sample consumer failed")

    async def stop(self) -> None:
        """Stop Locust and wait until no process of it is left. Idempotent; safe concurrently.

        SIGTERM to the single Locust or the master first, so Locust stops its users
        (the master its workers) and writes its final JSON; SIGKILL to every process
        group (each Locust process leads its own) after ``STOP_GRACE`` seconds.
        """
        if self._stop_task is None:
            self._stop_task = asyncio.ensure_future(self._stop())
        # Shielded: a cancelled teardown must still leave no process behind.
        await asyncio.shield(self._stop_task)

    async def _stop(self) -> None:
        self._stopping = True
        procs = list(self._procs)
        try:
            if procs:
                await self._terminate(procs)
            for locust in procs:
                _kill_group(locust.proc)
            for locust in procs:
                await locust.proc.wait()
            for locust in procs:
                if locust.reader is not None:
                    # EOF follows the exit unless a stray holds stdout open; do not wait
                    # forever.
                    try:
                        async with asyncio.timeout(2.0):
                            await asyncio.shield(locust.reader)
                    except TimeoutError:
                        locust.reader.cancel()
                        locust.exited.set()
                if self._state is not None:
                    self._state.remove_process(locust.proc.pid)
            if self._merger is not None:
                self._deliver_all(self._merger.flush(time.time()))
                if self._merger.late:
                    _logger.warning("chaoskit: %d worker samples came too late to be merged",
                                    self._merger.late)
            if procs and self.exit_code is None:
                self.exit_code = procs[0].proc.returncode
        finally:
            if self._expirer is not None:
                self._expirer.cancel()
            self._ended.set()
            for locust in procs:
                locust.log.close()

    async def _terminate(self, procs: list[_Locust]) -> None:
        lead = procs[0].proc
        if lead.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                lead.send_signal(signal.SIGTERM)
        everyone = asyncio.gather(*(p.proc.wait() for p in procs))
        try:
            async with asyncio.timeout(STOP_GRACE):
                await everyone
        except TimeoutError:
            left = [p.name for p in procs if p.proc.returncode is None]
            _logger.warning("chaoskit: %s still running %ss after SIGTERM, killing",
                            ", ".join(left), STOP_GRACE)

    def final_stats(self) -> list[EndpointTotals] | None:
        """Locust's whole-run totals per endpoint, from its ``--json-file``; None if absent.

        Written when Locust (the master) shuts down, so read it after ``stop()``.
        """
        if self.run_dir is None:
            return None
        return read_final_stats(self.run_dir / "locust_final.json")

    def _failure_reason(self) -> str:
        if not self._procs:
            return "no log"
        return self._procs[0].failure_reason()


def _ended_how(code: int | None) -> str:
    """``exited with code 1``, or ``was killed by SIGKILL`` for a process a signal ended."""
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _append(log: IO[bytes], data: bytes) -> None:
    if not log.closed:
        log.write(data)
        log.flush()


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


def worker_environ(env: Mapping[str, str], index: int) -> dict[str, str]:
    """Worker ``index``'s environment: a cohort seed of its own (the run's seed plus its
    index), so that the workers' cohort draws are not one sequence N times over."""
    own = dict(env)
    seed = own.get(COHORT_SEED_ENV, "").strip()
    if seed:
        own[COHORT_SEED_ENV] = str(int(seed) + index)
    return own
