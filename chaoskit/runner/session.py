"""One system under chaos from SETUP to TEARDOWN: the lifecycle every way of running shares.

A :class:`Session` owns what a run stands on (the :class:`Environment`:
platform, links, run folder, state file), the History every step is recorded
in, the load and its samples, the probes' readings, the faults in effect,
the revert, the teardown and the reports. It decides nothing about *when*:
``Run`` drives it through the experiment's phases and schedule, the pytest
plugin's ``ChaosSystem`` step by step as a test asks, and a GameDay through
``Run``. So a change to how a run starts, records or stops is made once.

With two deployments (``groups: {control: true}``, Netflix ChAP) a session stands
on two environments: the experiment group's, the only one faults are given, and
the control group's (``<run>/control``), set up beside it and torn down with it.
The load is split evenly between them, one Locust each, and every sample is
tagged with its group as it arrives, into the one History both groups share.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from chaoskit.checks.verdict import judge_as
from chaoskit.context import RunContext
from chaoskit.errors import ChaoskitError
from chaoskit.load.driver import LoadDriver
from chaoskit.load.window import WindowStats, summarize
from chaoskit.model.experiment import Experiment, LoadSpec, SteadyStateProbe
from chaoskit.model.faults import FaultBase
from chaoskit.model.history import (
    CONTROL_PREFIX,
    AnyEvent,
    Deployed,
    Group,
    History,
    InstanceChanged,
    LoadSample,
    Note,
    Phase,
    PhaseStarted,
    ProbeReading,
    Recovery,
    RunError,
)
from chaoskit.model.verdict import Judgement, Judging
from chaoskit.probes.base import Reading
from chaoskit.probes.load import recent_samples
from chaoskit.runner.environment import Environment
from chaoskit.runner.evaluate import Role, take_readings
from chaoskit.runner.options import RunOptions, RunResult
from chaoskit.runner.schedule import FaultSchedule, ScheduledFault, plan_fault
from chaoskit.runner.waits import SampleClock

INSTANCE_POLL = 0.5
LATE_LOOP = 2.0
"""Seconds late at which the instance watch notes that chaoskit's own loop was held up."""
"""Seconds between two looks at the platform's instance states (its health watch)."""


class Session:
    """Setup, recording, readings, faults, revert, teardown and reports of one system."""

    def __init__(self, experiment: Experiment, options: RunOptions, *,
                 judging: Judging = Judging.EXPERIMENT, run_dir: Path | None = None) -> None:
        self.experiment = experiment
        """What the journal shows as the experiment (a test-driven system rewrites it at the
        end with the checks and faults its tests made)."""
        self.options = options
        self.judging = judging
        """The rules the history is judged by: the experiment's phases, or a test's checks."""
        self.history = History()
        two = experiment.groups.deployments == 2
        self.env = Environment(experiment, options,
                               run_dir or new_run_dir(experiment, options.reports_dir),
                               group=experiment.main_group)
        """The experiment group's environment (the only one without groups)."""
        self.control_env = Environment(experiment, options, self.env.run_dir / "control",
                                       group="control", state=self.env.state,
                                       reserved=self.env.reserved) if two else None
        """The control group's: the same system, no fault, the same state file."""
        self.clock = SampleClock(self.history,
                                 groups=("experiment", "control") if two else ("",))
        self.started = time.time()
        self.phase: Phase | None = None
        self._ctx: RunContext | None = None
        self._control_ctx: RunContext | None = None
        self._faults = [plan_fault(i, spec) for i, spec in enumerate(experiment.method)]
        """Every fault of the session: the method's, then those a test adds, numbered once."""
        self._schedule: FaultSchedule | None = None
        self._loads: list[LoadDriver] = []
        self._twins: dict[LoadDriver, LoadDriver] = {}
        """An experiment group's Locust → the control group's started with it."""
        self._result: RunResult | None = None
        self._watcher: asyncio.Task[None] | None = None

    # -- what is running -----------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        return self.env.run_dir

    @property
    def ctx(self) -> RunContext:
        if self._ctx is None:
            raise ChaoskitError(f"{self.experiment.title}: the system is not set up")
        return self._ctx

    @property
    def schedule(self) -> FaultSchedule:
        if self._schedule is None:
            raise ChaoskitError(f"{self.experiment.title}: the system is not set up")
        return self._schedule

    @property
    def control_ctx(self) -> RunContext | None:
        """The control group's deployment, with two deployments once set up."""
        return self._control_ctx

    @property
    def load(self) -> LoadDriver | None:
        """The load running now, if any (the experiment group's with two deployments)."""
        controls = set(self._twins.values())
        return next((d for d in reversed(self._loads) if d.running and d not in controls),
                    None)

    def load_drivers(self, driver: LoadDriver) -> list[LoadDriver]:
        """``driver`` and, with two deployments, the control group's Locust started with it."""
        twin = self._twins.get(driver)
        return [driver] if twin is None else [driver, twin]

    async def stop_load(self, driver: LoadDriver) -> None:
        """Stop a load started by :meth:`start_load`: both groups' Locusts."""
        await asyncio.gather(*(d.stop() for d in self.load_drivers(driver)))

    @property
    def finished(self) -> bool:
        return self._result is not None

    # -- recording -----------------------------------------------------------------------

    def record(self, event: AnyEvent) -> None:
        if self._ctx is not None:
            self._ctx.record(event)  # also tells the live view
        else:
            self.history.append(event)
            self.env.notify(event)

    def enter(self, phase: Phase) -> None:
        self.phase = phase
        self.record(PhaseStarted(phase=phase))

    def record_error(self, error: BaseException) -> None:
        """A run error in the current phase; an unexpected one keeps its traceback in run.log."""
        if isinstance(error, ChaoskitError):
            message = str(error)
        else:
            self.env.log("unexpected error:\n" + "".join(traceback.format_exception(error)))
            message = f"{type(error).__name__}: {error} (traceback in run.log)"
        self.record(RunError(phase=self.phase, message=message))

    # -- setup and load ------------------------------------------------------------------

    async def setup(self) -> RunContext:
        """Links, instances (healthy), and the experiment's load if it has one; with two
        deployments both groups' copies at once (their ports drawn apart)."""
        seed = self.experiment.settings.seed
        if self.control_env is None:
            self._ctx = await self.env.setup(self.history, random.Random(seed))
        else:
            self._ctx, self._control_ctx = await self._deploy_both(self.control_env, seed)
        # Faults are given the experiment group's deployment only.
        self._schedule = FaultSchedule(self._ctx, self._faults)
        self._watcher = asyncio.create_task(self._watch_instances(), name="instance states")
        if self.experiment.load is not None:
            await self.start_load(self.experiment.load)
        return self._ctx

    async def _deploy_both(self, control: Environment,
                           seed: int) -> tuple[RunContext, RunContext]:
        """Set up the experiment's and the control's copy side by side; each records its
        Deployed event. A failure of one waits for the other, so teardown finds both
        settled (whatever either started is recorded in its environment and stopped)."""

        async def deploy(env: Environment, group: Group) -> RunContext:
            started = time.time()
            ctx = await env.setup(self.history, random.Random(seed))
            prefix = CONTROL_PREFIX if group == "control" else ""
            self.record(Deployed(group=group, seconds=round(time.time() - started, 3),
                                 instances=tuple(prefix + i.id for i in ctx.instances)))
            return ctx

        experiment, control_ctx = await asyncio.gather(
            deploy(self.env, "experiment"), deploy(control, "control"), return_exceptions=True)
        for result in (experiment, control_ctx):
            if isinstance(result, BaseException):
                raise result
        assert isinstance(experiment, RunContext) and isinstance(control_ctx, RunContext)
        return experiment, control_ctx

    async def _watch_instances(self) -> None:
        """Record every change of an instance's state, as the platforms' health watch sees it
        (the control group's instances as ``control/<id>``)."""
        watched = [("", self.ctx)]
        if self._control_ctx is not None:
            watched.append((CONTROL_PREFIX, self._control_ctx))
        seen = {prefix + s.instance.id: s.state
                for prefix, ctx in watched for s in ctx.platform.status()}
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + INSTANCE_POLL
            await asyncio.sleep(INSTANCE_POLL)
            self._note_if_late(loop.time() - due)
            for prefix, ctx in watched:
                for status in ctx.platform.status():
                    name = prefix + status.instance.id
                    was = seen.get(name)
                    if was is not None and was != status.state:
                        self.record(InstanceChanged(instance=name, state=status.state,
                                                    was=was))
                    seen[name] = status.state

    def _note_if_late(self, late: float) -> None:
        """Say so in the history when the loop woke this watch ``late`` seconds late: what
        was read meanwhile (load samples, health) was read late, and a journal that says
        so explains a reading that looks odd (an overloaded machine, a blocking call)."""
        if late >= LATE_LOOP:
            self.record(Note(message=f"chaoskit's own event loop ran {late:.1f}s late "
                             "(an overloaded machine or a blocking call): readings taken "
                             "meanwhile lag; SIGUSR1 shows where it waits"))

    async def start_load(self, spec: LoadSpec) -> LoadDriver:
        """Start Locust against the entry point. One at a time: probes read one stream.

        With two deployments, one Locust per group with half the users each (the same
        locustfile), started together; the experiment group's driver is returned and
        :meth:`stop_load` stops both.
        """
        if self.load is not None:
            raise ChaoskitError("a load is already running on this system; stop it first "
                                "(the steady-state probes read one stream of samples)")
        if self.control_env is None or self._control_ctx is None:
            driver = await self._start_locust(spec, self.env, self.ctx, "")
        else:
            half = spec.model_copy(update={"users": max(1, spec.users // 2),
                                           "spawn_rate": spec.spawn_rate / 2})
            control_env, control_ctx = self.control_env, self._control_ctx
            driver, twin = LoadDriver(), LoadDriver()
            self._twins[driver] = twin
            await asyncio.gather(
                self._start_locust(half, self.env, self.ctx, "experiment", driver),
                self._start_locust(half, control_env, control_ctx, "control", twin))
        self.clock.has_load = True
        return driver

    async def _start_locust(self, spec: LoadSpec, env: Environment, ctx: RunContext,
                            group: Group, driver: LoadDriver | None = None) -> LoadDriver:
        driver = driver or LoadDriver()
        self._loads.append(driver)  # before it starts: a start that fails half-way is stopped

        def on_sample(sample: LoadSample) -> None:
            if group:  # the session knows whose Locust this is; the locustfile need not
                sample = sample.model_copy(update={"group": group})
            self.record(sample)
            self.clock.on_sample(sample)

        def on_error(error: Exception) -> None:
            # A Locust (or one of its workers) that died mid-run: the reason goes into the
            # history at once, so the verdict says why, not only that samples stopped.
            whose = f"{group} group's " if group else ""
            self.record(RunError(phase=self.phase, message=f"the {whose}load stopped: {error}"))

        await driver.start(spec, host=env.load_host(spec, ctx), run_dir=env.run_dir,
                           env=env.load_env(spec, ctx), on_sample=on_sample, state=env.state,
                           max_duration=self.experiment.settings.max_duration,
                           base_dir=self.experiment.base_dir,
                           allow_hosts=self.experiment.settings.allow_hosts,
                           on_error=on_error)
        return driver

    def load_stats(self, window: float, *, since: float | None = None,
                   request: str | None = None) -> WindowStats:
        """The traffic of the last ``window`` seconds exactly as the load probes see it."""
        return summarize(recent_samples(self.history, window, since,
                                        group=self.experiment.main_group), request=request)

    # -- readings ------------------------------------------------------------------------

    async def cover(self, since: float, seconds: float) -> None:
        """Wait until the load holds ``seconds`` of samples from ``since`` on."""
        await self.clock.cover(since, seconds)

    async def read(self, probes: Sequence[SteadyStateProbe], *, role: Role,
                   phase: Phase | None = None, since: float | None = None,
                   window: float | None = None, detail: str = "",
                   ) -> list[tuple[ProbeReading, Reading]]:
        """Read the probes now and record each reading (in the current phase by default)."""
        return await take_readings(self.ctx, probes, phase=phase or self.phase or Phase.SETUP,
                                   role=role, since=since, window=window, detail=detail)

    # -- faults --------------------------------------------------------------------------

    def add_fault(self, spec: FaultBase) -> ScheduledFault:
        """A fault to inject when told (the pytest plugin's blocks); allowed before setup."""
        scheduled = plan_fault(len(self._faults), spec)
        self._faults.append(scheduled)
        return scheduled

    def is_active(self, scheduled: ScheduledFault) -> bool:
        return self._schedule is not None and scheduled.id in self._schedule.active

    def injection_targets(self, scheduled: ScheduledFault) -> tuple[str, ...]:
        """The instances (or links) the fault hit while it is in effect; else empty."""
        active = self._schedule.active.get(scheduled.id) if self._schedule else None
        return active.injection.targets if active is not None else ()

    @property
    def faults_active(self) -> bool:
        return self._schedule is not None and bool(self._schedule.active)

    async def inject(self, scheduled: ScheduledFault) -> None:
        await self.schedule.inject(scheduled)

    async def revert(self, fault_id: str) -> None:
        await self.schedule.revert(fault_id)

    async def revert_all(self) -> None:
        if self._schedule is not None:
            await self._schedule.revert_all()

    # -- the end -------------------------------------------------------------------------

    async def finish(self) -> RunResult:
        """REVERT what is still in effect, REPORT, TEARDOWN, and report again. Idempotent.

        The reports are written before teardown, so a teardown that hangs or raises
        still leaves a journal and a verdict, and again after it, so that what the
        teardown recorded (an error stopping an instance) is judged too. A teardown
        error is recorded, not raised: the verdict carries it.
        """
        if self._result is not None:
            return self._result
        try:
            if self._schedule is not None and self._schedule.active:
                self.enter(Phase.REVERT)
                await self._schedule.revert_all()  # records failures, never raises them
        finally:
            self.enter(Phase.REPORT)
            self._write_reports()
            self.enter(Phase.TEARDOWN)
            try:
                await self._teardown()
            except Exception as error:
                self.record_error(error)
            finally:
                self._result = self._write_reports()
                if self.env.view is not None:
                    # The live view owns the terminal (hidden cursor): give it back.
                    self.env.view.stop(self._result.judgement, self.run_dir)
        return self._result

    async def _teardown(self) -> None:
        if self._watcher is not None:  # instances stopping now are not news
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        try:
            # No traffic into a half-stopped system; both groups' at once.
            await asyncio.gather(*(driver.stop() for driver in self._loads))
        finally:
            try:
                if self.control_env is not None:
                    await self.control_env.teardown()
            finally:
                await self.env.teardown()  # last: it forgets the shared state file

    def judge(self) -> Judgement:
        """The verdict of what the history holds now."""
        return judge_as(self.judging, self.experiment, self.history)

    def _write_reports(self) -> RunResult:
        from chaoskit.report import write_reports
        from chaoskit.report.journal import Journal, RunOptionsRecord

        judgement = self.judge()
        ttr = next((r.seconds for r in self.history.of_type(Recovery)), None)
        journal = Journal(
            run_id=self.run_dir.name, experiment=self.experiment,
            options=RunOptionsRecord(platform=self.options.platform, proxy=self.options.proxy,
                                     disabled=sorted(self.options.disabled),
                                     dry_run=self.options.dry_run),
            started=self.started, ended=time.time(), judgement=judgement,
            judging=self.judging, time_to_recover=ttr, history=self.history,
        )
        try:
            write_reports(self.run_dir, journal)
        except Exception as error:  # a report that cannot be written must not stop teardown
            self.env.log("could not write the reports:\n"
                         + "".join(traceback.format_exception(error)))
            self.env.say(f"could not write the reports in {self.run_dir}: {error}")
        return RunResult(judgement=judgement, run_dir=self.run_dir, time_to_recover=ttr)


def new_run_dir(experiment: Experiment, reports_dir: Path) -> Path:
    """``reports/<date>-<time>-<4 hex>-<experiment slug>``: sorted by time, never reused."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    suffix = random.Random().randrange(16**4)
    return reports_dir / f"{stamp}-{suffix:04x}-{experiment.slug}"
