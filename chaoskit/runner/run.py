"""One run of an experiment, as a small state machine over the phases of DESIGN.md §4.

SETUP → WARMUP → BASELINE → INJECT → OBSERVE → REVERT → RECOVER → VERIFY,
then REVERT (of whatever is still in effect), REPORT and TEARDOWN whatever
happened: :meth:`Session.finish` sits in a ``finally``. SIGINT and SIGTERM
cancel the phases, which reverts and tears down before the process exits 130.
The verdict is computed from the history, never from flags set along the way.
"""

from __future__ import annotations

import asyncio
import faulthandler
import io
import signal
import time
from collections.abc import Callable

from chaoskit.model.history import GuardrailBreached, Interrupted, Phase, Recovery
from chaoskit.model.probes import LoadProbe
from chaoskit.runner.options import RunResult
from chaoskit.runner.schedule import ActiveFault
from chaoskit.runner.session import Session
from chaoskit.tasks import cancel_all


class GuardrailAbort(Exception):
    """A guardrail was breached: stop injecting, revert at once."""


class Run:
    """Drives a :class:`Session` through the experiment's phases and fault schedule."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.experiment = session.experiment
        self.interrupted = False

    # -- the state machine -------------------------------------------------------------

    async def execute(self, *, handle_signals: bool = False) -> RunResult:
        body = asyncio.ensure_future(self._phases())
        restore = self._install_signals(body) if handle_signals else None
        try:
            await self._await_body(body)
        finally:
            try:
                result = await self.session.finish()
            finally:
                if restore:
                    restore()
        return result

    async def _phases(self) -> None:
        session = self.session
        session.enter(Phase.SETUP)
        await session.setup()
        session.enter(Phase.WARMUP)
        await asyncio.sleep(self.experiment.settings.warmup)
        if not await self._baseline():
            return
        await self._inject_and_observe()
        session.enter(Phase.REVERT)
        await session.revert_all()
        recovered_at = await self._recover()
        await self._verify(recovered_at)

    async def _await_body(self, body: asyncio.Future[None]) -> None:
        limit = self.experiment.settings.max_duration
        try:
            done, _ = await asyncio.wait({body}, timeout=limit)
        except asyncio.CancelledError:
            # This run was cancelled (Ctrl-C under pytest): its phases stop before the
            # revert starts, or they would inject while it reverts.
            body.cancel()
            await asyncio.wait({body})
            raise
        if not done:
            body.cancel()
            await asyncio.wait({body})
            self.session.record_error(
                TimeoutError(f"the run exceeded max_duration ({limit:g}s)"))
            return
        if body.cancelled():
            return  # interrupted: the Interrupted event is already in the history
        error = body.exception()
        if error is not None and not isinstance(error, GuardrailAbort):
            self.session.record_error(error)

    # -- phases ------------------------------------------------------------------------

    async def _baseline(self) -> bool:
        """Chaos Monkey's outage check: inject nothing into a system that is not steady."""
        self.session.enter(Phase.BASELINE)
        since = time.time()
        await self.session.cover(since, self._longest_window())
        readings = await self.session.read(self.experiment.steady_state, role="steady_state",
                                           since=since)
        return all(event.ok for event, _ in readings)

    async def _inject_and_observe(self) -> None:
        schedule = self.session.schedule
        self.session.enter(Phase.INJECT)
        faults = asyncio.ensure_future(schedule.run(self._check_during))
        watcher = asyncio.ensure_future(self._watch_guardrails())
        observing = asyncio.ensure_future(self._enter_observe_when_injected())
        try:
            done, _ = await asyncio.wait({faults, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if watcher in done:
                faults.cancel()
                watcher.result()  # a stalled load stream raises: an error, not an abort
                raise GuardrailAbort()
            faults.result()
            for active in list(schedule.active.values()):
                await self._check_during(active)
        finally:
            await cancel_all((faults, watcher, observing))

    async def _enter_observe_when_injected(self) -> None:
        schedule = self.session.schedule
        first_end = min((f.spec.after + f.spec.duration for f in schedule.faults), default=0.0)
        last_start = max((f.spec.after for f in schedule.faults), default=0.0)
        # OBSERVE starts once every fault due before the first revert is in effect.
        due = sum(1 for f in schedule.faults if f.spec.after < first_end)
        deadline = time.time() + max(last_start, 0) + 120
        while len(schedule.active) < due and time.time() < deadline:
            await asyncio.sleep(0.05)
        self.session.enter(Phase.OBSERVE)

    async def _check_during(self, active: ActiveFault) -> None:
        """Hold the steady state to its tolerances over this fault's window, before reverting."""
        if not self.experiment.settings.check_during:
            return
        window = max(1.0, time.time() - active.effective_at)
        await self.session.read(
            self.experiment.steady_state, phase=Phase.OBSERVE, role="steady_state",
            since=active.effective_at, window=window,
            detail=f"during {active.scheduled.label}",
        )

    async def _watch_guardrails(self) -> None:
        """Check every guardrail at each load sample (at least every second); return on a breach."""
        guardrails = self.experiment.guardrails
        if not guardrails:
            await asyncio.Future()  # nothing to watch: wait to be cancelled
        clock = self.session.clock
        while True:
            await clock.next(timeout=1.0)
            # A load stream that lags is read as far as it has come; a stalled one ends
            # the run in error (reverted at once), not in a breach the system did not make.
            clock.raise_if_stalled()
            readings = await self.session.read(guardrails, role="guardrail")
            breached = [event for event, _ in readings if not event.ok]
            for event in breached:
                self.session.record(GuardrailBreached(
                    name=event.name, value=event.value, tolerance=event.tolerance,
                    expected=event.expected, compare=event.compare, detail=event.detail))
            if breached:
                return

    async def _recover(self) -> float | None:
        """Time-to-recover: from the first revert until a full recovery window holds again.

        TTR is measured to the *start* of the first passing window, so its
        resolution is one load sample (a second), not the window's length.
        ``recover_within`` counts from when the last revert took effect: a revert
        that takes long (Chaos Kong's failback) is still the fault, and a system
        cannot be asked to recover while it is being restored. At least one
        reading is always taken.
        """
        session = self.session
        session.enter(Phase.RECOVER)
        settings = self.experiment.settings
        reverted = self._first_revert_time()
        restored = session.schedule.last_revert_effective or time.time()
        deadline = max(reverted, restored) + settings.recover_within
        window = settings.recovery_window
        while True:
            await session.cover(reverted, window)
            readings = await session.read(self.experiment.steady_state, role="recovery",
                                          since=reverted, window=window)
            if all(event.ok for event, _ in readings):
                starts = [r.window_start for _, r in readings if r.window_start is not None]
                recovered_at = max(starts, default=time.time())
                seconds = max(0.0, recovered_at - reverted)
                session.record(Recovery(seconds=seconds, within=settings.recover_within))
                return max(recovered_at, reverted)
            if time.time() >= deadline:
                break
            await session.clock.next()
        session.record(Recovery(seconds=None, within=settings.recover_within))
        return None

    async def _verify(self, recovered_at: float | None) -> None:
        self.session.enter(Phase.VERIFY)
        since = recovered_at if recovered_at is not None else self._first_revert_time()
        await self.session.cover(since, self._longest_window())
        await self.session.read(self.experiment.steady_state, role="steady_state", since=since)

    # -- helpers -----------------------------------------------------------------------

    def _longest_window(self) -> float:
        windows = [p.probe.window for p in self.experiment.steady_state
                   if isinstance(p.probe, LoadProbe)]
        return max(windows, default=1.0)

    def _first_revert_time(self) -> float:
        first = self.session.schedule.first_revert_called
        return first if first is not None else time.time()

    def _dump_tasks(self) -> None:
        """SIGUSR1: write what every task of the run is waiting on into run.log, for a run
        that seems stuck (``kill -USR1 <pid>``); the run goes on."""
        out = io.StringIO()
        out.write(f"SIGUSR1 at {time.strftime('%H:%M:%S')}: the run's tasks\n")
        for task in asyncio.all_tasks():
            task.print_stack(limit=12, file=out)
        self.session.env.log(out.getvalue())
        self.session.env.say(f"SIGUSR1: the run's tasks are in {self.session.run_dir}/run.log")

    def _install_signals(self, body: asyncio.Future[None]) -> Callable[[], None]:
        loop = asyncio.get_running_loop()

        def interrupt(name: str) -> None:
            if self.interrupted:
                self.session.env.say(f"{name} again: still reverting, please wait")
                return
            self.interrupted = True
            self.session.record(Interrupted(signal=name))
            body.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt, sig.name)
        loop.add_signal_handler(signal.SIGUSR1, self._dump_tasks)
        # And the threads' stacks to stderr, from C: they show an event loop that is blocked
        # (and so cannot run the handler above) where it is blocked.
        faulthandler.register(signal.SIGUSR1, all_threads=True, chain=True)

        def restore() -> None:
            faulthandler.unregister(signal.SIGUSR1)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                loop.remove_signal_handler(sig)

        return restore
