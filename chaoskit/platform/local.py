"""The ``local`` platform: every instance a subprocess leading its own process group.

An instance (a :class:`_Slot`) outlives the processes behind it (its :class:`_Run`
values): a killed or crashed process is replaced by a new one on the same port,
with the same environment, by the instance's supervisor task — the way an
auto-scaling group replaces a terminated VM. Signals always go to the whole
process group, so whatever an instance forks dies with it.

Every process is recorded in the :class:`RunState` while it lives, so a runner
that is itself SIGKILLed leaves a list for ``chaoskit rollback``; and every
process carries the run's marker (``CHAOSKIT_RUN``, written into its environment
after the state file exists) so rollback also finds one spawned a moment before
the runner died, before its pid could be recorded (see :mod:`chaoskit.state`).

Output of each instance is appended to ``<logs>/<instance id>.log`` across
restarts; a start failure quotes the tail of that file.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chaoskit.errors import PlatformError
from chaoskit.platform.base import InstanceState, InstanceStatus, Launch
from chaoskit.platform.deployment import child_environment
from chaoskit.platform.health import HealthCheck, keep_watching
from chaoskit.state import RunState
from chaoskit.tasks import cancel_all

STOP_GRACE = 2.0
"""Seconds an instance gets between SIGTERM and SIGKILL when the platform closes."""

CONFIRM_TIMEOUT = 10.0
"""Seconds a SIGKILLed or SIGSTOPped process may take to show it: only a process stuck
in the kernel (uninterruptible I/O) takes longer, and that is worth an error."""

LOG_TAIL_LINES = 20


@dataclass(eq=False)
class _Run:
    """One process behind an instance."""

    process: asyncio.subprocess.Process
    healthy: asyncio.Event = field(default_factory=asyncio.Event)
    paused: bool = False
    unhealthy: bool = False
    """Was healthy, fails its checks now (health is watched for the whole run)."""
    reaped: bool = False
    health_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None


@dataclass(eq=False)
class _Slot:
    """One instance over its whole life: its launch, current process and restart state."""

    launch: Launch
    log: Path
    run: _Run | None = None
    starts: int = 0
    held: bool = False
    due: float | None = None
    """Loop time at which the supervisor starts a replacement; None: stay down."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Set whenever ``run``, ``held`` or ``due`` change, so the supervisor looks again."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while spawning, so the supervisor and ``restore`` never both start a process."""
    supervisor: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self.launch.instance.id


class LocalPlatform:
    """Runs each instance as a subprocess in its own process group on 127.0.0.1."""

    name = "local"

    def __init__(self, state: RunState, logs: Path, *, label: str = "") -> None:
        self._state = state
        self._label = label
        self._logs = Path(logs)
        self._slots: dict[str, _Slot] = {}
        self._closed = False
        self._closing: asyncio.Future[None] | None = None

    # -- the Platform protocol -------------------------------------------------------

    async def start(self, launches: Sequence[Launch], *, timeout: float = 60.0) -> None:
        """Start instances wave by wave (one service at a time, in the order given).

        All instances of a service start together; the next service starts once they
        are all healthy, so dependencies are up before their callers. ``timeout``
        bounds the whole start. On failure everything is stopped and the platform is
        closed.
        """
        self._check_open()
        ids = [launch.instance.id for launch in launches]
        repeated = sorted({i for i in ids if ids.count(i) > 1 or i in self._slots})
        if repeated:
            raise PlatformError(f"instances started twice: {', '.join(repeated)}")
        slots = [self._add_slot(launch) for launch in launches]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            for _, group in itertools.groupby(slots, key=lambda s: s.launch.instance.service):
                wave = list(group)
                ready = wave[0].launch.ready_timeout
                await self._start_wave(wave, min(deadline, loop.time() + ready),
                                       min(timeout, ready))
        except BaseException:
            await self.close()
            raise

    async def kill(self, ids: Sequence[str], *, hold: bool = False) -> None:
        """SIGKILL each instance's process group and return once every process is reaped."""
        slots = self._lookup(ids)
        runs: list[tuple[_Slot, _Run]] = []
        for slot in slots:
            # Under the spawn lock: a replacement being started right now is started
            # (and then killed) before we decide, never started after a hold.
            async with slot.lock:
                if hold:
                    # Before the kill, so the reaping (by whoever sees it first) keeps it down.
                    slot.held, slot.due = True, None
                    slot.wake.set()
                if slot.run is not None and slot.run.running:
                    runs.append((slot, slot.run))
                    _signal_group(slot.run, signal.SIGKILL)
        alive = await _wait_exit([run for _, run in runs], CONFIRM_TIMEOUT)
        for slot, run in runs:
            self._reaped(slot, run)
        if alive:
            raise PlatformError(f"instances still alive {CONFIRM_TIMEOUT:g}s after SIGKILL: "
                                + ", ".join(f"pid {run.pid}" for run in alive))

    async def restore(self, ids: Sequence[str], *, timeout: float = 60.0) -> None:
        """Lift holds, resume paused instances, start stopped ones now; wait until all healthy."""
        slots = self._lookup(ids)
        deadline = asyncio.get_running_loop().time() + timeout
        for slot in slots:
            slot.held = False
            if slot.run is not None and slot.run.paused:
                _signal_group(slot.run, signal.SIGCONT)
                slot.run.paused = False
        await _all(self._bring_up(slot, deadline, timeout) for slot in slots)

    async def pause(self, ids: Sequence[str]) -> None:
        """SIGSTOP each instance's group: alive, sockets open, answering nothing."""
        slots = self._lookup(ids)
        down = [slot.id for slot in slots if slot.run is None or not slot.run.running]
        if down:
            raise PlatformError(f"cannot pause instances that are not running: {', '.join(down)}")
        runs = [slot.run for slot in slots if slot.run is not None]
        for run in runs:
            run.paused = True
            _signal_group(run, signal.SIGSTOP)
        # Signals are delivered asynchronously: confirm, so a probe right after
        # pause() already meets a frozen process.
        await _all(_confirm_stopped(run) for run in runs)

    async def resume(self, ids: Sequence[str]) -> None:
        """SIGCONT each paused instance; instances killed meanwhile are left to their policy."""
        for slot in self._lookup(ids):
            if slot.run is not None and slot.run.paused:
                _signal_group(slot.run, signal.SIGCONT)
                slot.run.paused = False

    def status(self) -> list[InstanceStatus]:
        return [
            InstanceStatus(
                instance=slot.launch.instance, state=self._state_of(slot),
                address=slot.launch.address, restarts=max(slot.starts - 1, 0),
                held=slot.held, handle=str(slot.run.pid) if slot.run else "",
                extra={"log": str(slot.log)},
            )
            for slot in self._slots.values()
        ]

    async def close(self) -> None:
        """Stop supervisors first (nothing may restart), then TERM, then KILL, and reap all.

        The stopping runs in its own task, shielded: a caller cancelled mid-way (a
        second Ctrl-C) does not leave half the instances running, and a later call
        waits for the same stopping instead of returning early.
        """
        if self._closing is None:
            self._closed = True
            self._closing = asyncio.ensure_future(self._stop_all())
        await asyncio.shield(self._closing)

    async def _stop_all(self) -> None:
        tasks = [slot.supervisor for slot in self._slots.values() if slot.supervisor]
        tasks += [slot.run.health_task for slot in self._slots.values()
                  if slot.run and slot.run.health_task]
        await cancel_all(tasks)
        # A process being created right now (by restore) is created under its slot's
        # lock: once we hold each lock in turn, every process there will be is in a slot.
        for slot in self._slots.values():
            async with slot.lock:
                pass
        runs = [(slot, slot.run) for slot in self._slots.values() if slot.run is not None]
        for _, run in runs:
            # A stopped process cannot act on SIGTERM: wake it first.
            _signal_group(run, signal.SIGCONT)
            _signal_group(run, signal.SIGTERM)
        stubborn = await _wait_exit([run for _, run in runs], STOP_GRACE)
        for run in stubborn:
            _signal_group(run, signal.SIGKILL)
        await _wait_exit(stubborn, CONFIRM_TIMEOUT)
        for slot, run in runs:
            self._reaped(slot, run)

    # -- starting --------------------------------------------------------------------

    def _add_slot(self, launch: Launch) -> _Slot:
        self._logs.mkdir(parents=True, exist_ok=True)
        slot = _Slot(launch=launch, log=self._logs / f"{launch.instance.id}.log")
        self._slots[slot.id] = slot
        return slot

    async def _start_wave(self, wave: list[_Slot], deadline: float, timeout: float) -> None:
        for slot in wave:
            async with slot.lock:
                await self._spawn(slot)
            slot.supervisor = asyncio.create_task(self._supervise(slot),
                                                  name=f"supervise {slot.id}")
        await _all(self._await_up(slot, deadline, timeout) for slot in wave)

    async def _bring_up(self, slot: _Slot, deadline: float, timeout: float) -> None:
        async with slot.lock:
            if slot.run is None:
                await self._spawn(slot)
        slot.wake.set()
        await self._await_up(slot, deadline, timeout)

    async def _spawn(self, slot: _Slot) -> None:
        """Start a process for ``slot``; the caller holds ``slot.lock``."""
        if self._closed:
            raise PlatformError(f"instance {slot.id} not started: the local platform is closed")
        launch = slot.launch
        slot.starts += 1
        self._note(slot, f"start #{slot.starts}")
        try:
            with slot.log.open("ab") as log:
                process = await asyncio.create_subprocess_exec(
                    *launch.argv, cwd=launch.cwd,
                    env=self._state.spawn_env(child_environment(dict(launch.env))),
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as error:
            raise PlatformError(f"instance {slot.id} could not be started "
                                f"({' '.join(launch.argv)} in {launch.cwd}): {error}") from error
        run = _Run(process)
        slot.run, slot.due = run, None
        # Written synchronously (a small file, atomic rename) right after the spawn;
        # the moment before it is covered by the marker in the process's environment.
        self._state.add_process(process.pid, f"instance {self._label}{slot.id}")
        run.health_task = asyncio.create_task(
            self._watch_health(launch, run, self._state.spawn_env(child_environment(
                dict(launch.env)))), name=f"health {slot.id}")
        slot.wake.set()

    @staticmethod
    async def _watch_health(launch: Launch, run: _Run, env: dict[str, str]) -> None:
        def report(healthy: bool) -> None:
            run.unhealthy = not healthy

        async with HealthCheck(launch, env) as check:
            if await check.until_healthy(math.inf):
                run.healthy.set()
                await keep_watching(check, report, skip=lambda: run.paused)

    async def _await_up(self, slot: _Slot, deadline: float, timeout: float) -> None:
        """Return once the slot's current process is healthy; raise if it exits or times out."""
        run = slot.run
        if run is None:
            raise PlatformError(f"instance {slot.id} is not running")
        healthy = asyncio.ensure_future(run.healthy.wait())
        exited = asyncio.ensure_future(run.process.wait())
        remaining = max(deadline - asyncio.get_running_loop().time(), 0)
        try:
            await asyncio.wait({healthy, exited}, timeout=remaining,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            healthy.cancel()
            exited.cancel()
        if not run.running:
            problem = f"exited with code {run.process.returncode} before it was healthy"
        elif run.healthy.is_set():
            return
        else:
            problem = f"was not healthy within {timeout:g}s (asked {slot.launch.health_target})"
        tail = await asyncio.to_thread(_tail, slot.log)
        raise PlatformError(f"instance {slot.id} {problem}; last lines of {slot.log}:\n{tail}")

    # -- supervision -----------------------------------------------------------------

    async def _supervise(self, slot: _Slot) -> None:
        """Watch the slot's process; when it dies, replace it as the restart policy says."""
        loop = asyncio.get_running_loop()
        while True:
            run = slot.run
            if run is not None:
                await run.process.wait()
                self._reaped(slot, run)
                continue
            await self._until_due(slot)
            async with slot.lock:
                if slot.run is not None or slot.due is None or loop.time() < slot.due:
                    continue
                try:
                    await self._spawn(slot)
                except PlatformError as error:
                    # Like an auto-scaling group: keep trying, say why in the log.
                    self._note(slot, str(error))
                    slot.due = loop.time() + slot.launch.restart.delay

    @staticmethod
    async def _until_due(slot: _Slot) -> None:
        """Wait while the slot has no process and its replacement is not yet due."""
        loop = asyncio.get_running_loop()
        while slot.run is None:
            slot.wake.clear()
            if slot.due is None:
                await slot.wake.wait()
                continue
            remaining = slot.due - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await slot.wake.wait()

    def _reaped(self, slot: _Slot, run: _Run) -> None:
        """Book a process that has exited and been reaped. Idempotent."""
        if run.reaped:
            return
        run.reaped = True
        if run.health_task is not None:
            run.health_task.cancel()
        # What the instance forked may outlive it and keep its port: the group goes too.
        _signal_group(run, signal.SIGKILL, leader_reaped=True)
        self._state.remove_process(run.pid)
        self._note(slot, f"pid {run.pid} exited with code {run.process.returncode}")
        if slot.run is not run:
            return
        slot.run = None
        policy = slot.launch.restart
        stay_down = self._closed or slot.held or policy.policy == "never"
        slot.due = None if stay_down else asyncio.get_running_loop().time() + policy.delay
        slot.wake.set()

    # -- helpers ---------------------------------------------------------------------

    def _state_of(self, slot: _Slot) -> InstanceState:
        if self._closed:
            return InstanceState.STOPPED
        if slot.run is None:
            return InstanceState.DOWN
        if slot.run.paused:
            return InstanceState.PAUSED
        if not slot.run.healthy.is_set():
            return InstanceState.STARTING
        return InstanceState.UNHEALTHY if slot.run.unhealthy else InstanceState.UP

    def _lookup(self, ids: Sequence[str]) -> list[_Slot]:
        self._check_open()
        unknown = [i for i in ids if i not in self._slots]
        if unknown:
            raise PlatformError(f"unknown instances {', '.join(unknown)}; "
                                f"expected some of {', '.join(self._slots)}")
        return [self._slots[i] for i in ids]

    def _check_open(self) -> None:
        if self._closed:
            raise PlatformError("the local platform is closed")

    @staticmethod
    def _note(slot: _Slot, message: str) -> None:
        # Marks in the instance's own log, so a reader sees where each process begins and ends.
        stamp = time.strftime("%H:%M:%S")
        with slot.log.open("a") as log:
            log.write(f"--- chaoskit {stamp}: {slot.id}: {message} ---\n")


def _signal_group(run: _Run, sig: signal.Signals, *, leader_reaped: bool = False) -> None:
    """Signal the run's process group.

    While the leader is unreaped its pid cannot be reused, so the group id is
    certainly ours. Once reaped the group id stays reserved as long as any member
    lives; ``leader_reaped`` callers accept the (tiny) window in which every member
    is gone and the number was handed to someone else's new group.
    """
    if not leader_reaped and not run.running:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(run.pid, sig)


async def _wait_exit(runs: Iterable[_Run], timeout: float) -> list[_Run]:
    """Wait until each process has exited and been reaped; return those still alive."""
    runs = list(runs)
    if not runs:
        return []
    waits = [asyncio.ensure_future(run.process.wait()) for run in runs]
    _, pending = await asyncio.wait(waits, timeout=timeout)
    for wait in pending:
        wait.cancel()
    return [run for run in runs if run.running]


async def _all(aws: Iterable[Awaitable[None]]) -> None:
    """Run concurrently; the first failure cancels the rest and is raised as is."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _confirm_stopped(run: _Run) -> None:
    """Poll /proc every 10 ms until the process shows as stopped (or has died)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONFIRM_TIMEOUT
    while run.running and not _stopped(run.pid):
        if loop.time() > deadline:
            raise PlatformError(f"pid {run.pid} did not stop {CONFIRM_TIMEOUT:g}s after SIGSTOP")
        await asyncio.sleep(0.01)


def _stopped(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(log.tell() - 8192, 0))
            text = log.read().decode(errors="replace")
    except OSError as error:
        return f"(no log: {error})"
    return "\n".join(text.splitlines()[-lines:])
