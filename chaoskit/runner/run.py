"""One run of an experiment, as a small state machine over the phases of DESIGN.md §4.

SETUP → WARMUP → BASELINE → INJECT → OBSERVE → REVERT → RECOVER → VERIFY,
then REPORT and TEARDOWN whatever happened. The revert and the teardown sit in
``finally`` blocks; SIGINT and SIGTERM cancel the phases, which reverts and
tears down before the process exits 130. The verdict is computed from the
history after the run, never from flags set along the way.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from chaoskit.checks.verdict import judge
from chaoskit.context import RunContext
from chaoskit.errors import ChaoskitError
from chaoskit.model.experiment import Experiment
from chaoskit.model.history import (
    GuardrailBreached,
    History,
    Interrupted,
    LoadSample,
    Phase,
    PhaseStarted,
    Recovery,
    RunError,
)
from chaoskit.model.probes import LoadProbe
from chaoskit.runner.environment import Environment
from chaoskit.runner.evaluate import take_readings
from chaoskit.runner.options import RunOptions, RunResult
from chaoskit.runner.schedule import ActiveFault, FaultSchedule
from chaoskit.runner.waits import SampleClock


class GuardrailAbort(Exception):
    """A guardrail was breached: stop injecting, revert at once."""


class Run:
    def __init__(self, experiment: Experiment, options: RunOptions, env: Environment) -> None:
        self.experiment = experiment
        self.options = options
        self.env = env
        self.history = History()
        self.phase: Phase | None = None
        self.interrupted = False
        self.clock = SampleClock(self.history, has_load=experiment.load is not None)
        self.ctx: RunContext | None = None
        self.schedule: FaultSchedule | None = None

    # -- the state machine -------------------------------------------------------------

    async def execute(self, *, handle_signals: bool = False) -> RunResult:
        body = asyncio.ensure_future(self._phases())
        restore = self._install_signals(body) if handle_signals else None
        try:
            await self._await_body(body)
        finally:
            await self._finish()
            if restore:
                restore()
        return self._result()

    async def _phases(self) -> None:
        await self._setup()
        await self._warmup()
        if not await self._baseline():
            return
        await self._inject_and_observe()
        await self._revert()
        recovered_at = await self._recover()
        await self._verify(recovered_at)

    async def _await_body(self, body: asyncio.Future[None]) -> None:
        limit = self.experiment.settings.max_duration
        done, _ = await asyncio.wait({body}, timeout=limit)
        if not done:
            body.cancel()
            await asyncio.wait({body})
            self._record_error(f"the run exceeded max_duration ({limit:g}s)")
            return
        if body.cancelled():
            return  # interrupted: the Interrupted event is already in the history
        error = body.exception()
        if isinstance(error, GuardrailAbort) or error is None:
            return
        if isinstance(error, ChaoskitError):
            self._record_error(str(error))
        else:
            trace = "".join(traceback.format_exception(error))
            self.env.log(f"unexpected error:\n{trace}")
            self._record_error(f"{type(error).__name__}: {error} (traceback in run.log)")

    async def _finish(self) -> None:
        # Shielded from a second Ctrl-C: the revert must complete.
        if self.schedule is not None and self.schedule.active:
            self._enter(Phase.REVERT)
            await self.schedule.revert_all()
        self._enter(Phase.REPORT)
        self._enter(Phase.TEARDOWN)
        await self.env.teardown()

    def _result(self) -> RunResult:
        judgement = judge(self.experiment, self.history)
        ttr = next((r.seconds for r in self.history.of_type(Recovery)), None)
        self.env.write_reports(self.history, judgement, ttr)
        return RunResult(judgement=judgement, run_dir=self.env.run_dir, time_to_recover=ttr)

    # -- phases ------------------------------------------------------------------------

    async def _setup(self) -> None:
        self._enter(Phase.SETUP)
        self.ctx = await self.env.setup(self.history, self._record_sample)
        self.ctx.rng = random.Random(self.experiment.settings.seed)
        self.schedule = FaultSchedule(self.ctx, self.experiment.method)

    async def _warmup(self) -> None:
        self._enter(Phase.WARMUP)
        await asyncio.sleep(self.experiment.settings.warmup)

    async def _baseline(self) -> bool:
        """Chaos Monkey's outage check: inject nothing into a system that is not steady."""
        self._enter(Phase.BASELINE)
        since = time.time()
        await self.clock.cover(since, self._longest_window())
        readings = await take_readings(self._ctx, self.experiment.steady_state,
                                       phase=Phase.BASELINE, role="steady_state", since=since)
        return all(event.ok for event, _ in readings)

    async def _inject_and_observe(self) -> None:
        assert self.schedule is not None
        self._enter(Phase.INJECT)
        faults = asyncio.ensure_future(self.schedule.run(self._check_during))
        watcher = asyncio.ensure_future(self._watch_guardrails())
        observing = asyncio.ensure_future(self._enter_observe_when_injected())
        try:
            done, _ = await asyncio.wait({faults, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if watcher in done:
                faults.cancel()
                raise GuardrailAbort()
            faults.result()
            for active in list(self.schedule.active.values()):
                await self._check_during(active)
        finally:
            for task in (faults, watcher, observing):
                task.cancel()
            await asyncio.gather(faults, watcher, observing, return_exceptions=True)

    async def _enter_observe_when_injected(self) -> None:
        assert self.schedule is not None
        first_end = min((f.spec.after + f.spec.duration for f in self.schedule.faults),
                        default=0.0)
        last_start = max((f.spec.after for f in self.schedule.faults), default=0.0)
        # OBSERVE starts once every fault due before the first revert is in effect.
        due = sum(1 for f in self.schedule.faults if f.spec.after < first_end)
        deadline = time.time() + max(last_start, 0) + 120
        while len(self.schedule.active) < due and time.time() < deadline:
            await asyncio.sleep(0.05)
        self._enter(Phase.OBSERVE)

    async def _check_during(self, active: ActiveFault) -> None:
        """Hold the steady state to its tolerances over this fault's window, before reverting."""
        if not self.experiment.settings.check_during:
            return
        window = max(1.0, time.time() - active.effective_at)
        await take_readings(
            self._ctx, self.experiment.steady_state, phase=Phase.OBSERVE, role="steady_state",
            since=active.effective_at, window=window,
            detail=f"during {active.scheduled.label}",
        )

    async def _watch_guardrails(self) -> None:
        """Check every guardrail at each load sample (at least every second); return on a breach."""
        guardrails = self.experiment.guardrails
        if not guardrails:
            await asyncio.Future()  # nothing to watch: wait to be cancelled
        while True:
            await self.clock.next(timeout=1.0)
            readings = await take_readings(self._ctx, guardrails, phase=self._phase,
                                           role="guardrail")
            breached = [event for event, _ in readings if not event.ok]
            for event in breached:
                self._ctx.record(GuardrailBreached(name=event.name, value=event.value,
                                                   tolerance=event.tolerance))
            if breached:
                return

    async def _revert(self) -> None:
        assert self.schedule is not None
        self._enter(Phase.REVERT)
        await self.schedule.revert_all()

    async def _recover(self) -> float | None:
        """Time-to-recover: from the first revert until a full recovery window holds again.

        TTR is measured to the *start* of the first passing window, so its
        resolution is one load sample (a second), not the window's length.
        """
        self._enter(Phase.RECOVER)
        settings = self.experiment.settings
        reverted = self._first_revert_time()
        deadline = reverted + settings.recover_within
        window = settings.recovery_window
        while time.time() < deadline:
            await self.clock.cover(reverted, window)
            readings = await take_readings(self._ctx, self.experiment.steady_state,
                                           phase=Phase.RECOVER, role="recovery",
                                           since=reverted, window=window)
            if all(event.ok for event, _ in readings):
                starts = [r.window_start for _, r in readings if r.window_start is not None]
                recovered_at = max(starts, default=time.time())
                seconds = max(0.0, recovered_at - reverted)
                self._ctx.record(Recovery(seconds=seconds, within=settings.recover_within))
                return max(recovered_at, reverted)
            await self.clock.next()
        self._ctx.record(Recovery(seconds=None, within=settings.recover_within))
        return None

    async def _verify(self, recovered_at: float | None) -> None:
        self._enter(Phase.VERIFY)
        since = recovered_at if recovered_at is not None else self._first_revert_time()
        await self.clock.cover(since, self._longest_window())
        await take_readings(self._ctx, self.experiment.steady_state, phase=Phase.VERIFY,
                            role="steady_state", since=since)

    # -- helpers -----------------------------------------------------------------------

    @property
    def _ctx(self) -> RunContext:
        assert self.ctx is not None, "the context exists from SETUP on"
        return self.ctx

    @property
    def _phase(self) -> Phase:
        return self.phase or Phase.SETUP

    def _enter(self, phase: Phase) -> None:
        self.phase = phase
        self._append(PhaseStarted(phase=phase))

    def _append(self, event: PhaseStarted | RunError | Interrupted) -> None:
        if self.ctx is not None:
            self.ctx.record(event)
        else:
            self.history.append(event)
            self.env.notify(event)

    def _record_error(self, message: str) -> None:
        self._append(RunError(phase=self.phase, message=message))

    def _record_sample(self, sample: LoadSample) -> None:
        self._ctx.record(sample)
        self.clock.on_sample()

    def _longest_window(self) -> float:
        windows = [p.probe.window for p in self.experiment.steady_state
                   if isinstance(p.probe, LoadProbe)]
        return max(windows, default=1.0)

    def _first_revert_time(self) -> float:
        from chaoskit.model.history import FaultEvent

        calls = [e.t for e in self.history.of_type(FaultEvent) if e.step == "revert_called"]
        return min(calls, default=time.time())

    def _install_signals(self, body: asyncio.Future[None]) -> Callable[[], None]:
        loop = asyncio.get_running_loop()

        def interrupt(name: str) -> None:
            if self.interrupted:
                self.env.say(f"{name} again: still reverting, please wait")
                return
            self.interrupted = True
            self._append(Interrupted(signal=name))
            body.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt, sig.name)

        def restore() -> None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

        return restore


def run_dir_for(experiment: Experiment, options: RunOptions) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    suffix = random.Random().randrange(16**4)
    return options.reports_dir / f"{stamp}-{suffix:04x}-{experiment.slug}"
