"""The monkey as a long-running service on a real system, through the runner's Session.

The Session is the lifecycle every run shares (DESIGN §2): it starts the
topology (or attaches to labelled containers), records every process in the
run's state file — so ``chaoskit rollback`` finds what a SIGKILLed monkey
left — runs the optional background load, reads the outage-check probes and
injects the kills as ``instance_kill`` / ``container_kill`` faults, reverted at
once (the revert waits for the replacement). SIGINT and SIGTERM stop the
loop; ``Session.finish`` then reverts, writes the report (every kill on the
timeline beside the outage-check readings) and stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chaoskit.errors import ChaoskitError
from chaoskit.model.experiment import Experiment, Settings, SteadyStateProbe
from chaoskit.model.faults import ContainerKill, FaultBase, InstanceKill
from chaoskit.model.history import Note, Phase
from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.verdict import Judging
from chaoskit.monkey.clock import Clock, ScaledClock
from chaoskit.monkey.config import MonkeyConfig
from chaoskit.monkey.daily import write_daily_report
from chaoskit.monkey.decide import Monkey
from chaoskit.monkey.killlog import Decision, KillLog
from chaoskit.monkey.metrics import MetricsServer, render
from chaoskit.monkey.schedule import PlannedKill, groups_of
from chaoskit.runner import RunOptions, Session
from chaoskit.state import state_dir

SERVICE_MAX_DURATION = 999_999.0
"""The background load's own bound (Locust's ``-t``), ~11.6 days of real time; the monkey
starts a new load when it has ended. (The largest a journal's duration keeps exactly.)"""
WARMUP_CAP = 10.0
"""Real seconds of load awaited before the first outage check, at most."""

_ALWAYS = SteadyStateProbe(name="load success ratio", probe=LoadProbe(probe="load.success_ratio"),
                           tolerance=Tolerance(min=0.0))
"""An experiment needs a hypothesis; a monkey without outage checks has none to hold."""


def default_log_path() -> Path:
    return state_dir(create=False) / "monkey.sqlite3"


def as_experiment(config: MonkeyConfig) -> Experiment:
    """The session's experiment: the system, the load, the outage checks as steady state."""
    return Experiment(
        title=config.title, description=config.description, topology=config.topology,
        load=config.load, steady_state=tuple(config.outage_check) or (_ALWAYS,),
        settings=Settings(seed=config.seed, warmup=0, max_duration=SERVICE_MAX_DURATION),
        source=config.source, base_dir=config.base_dir)


@dataclass
class MonkeyOptions:
    """How a monkey runs (the CLI's flags)."""

    seed: int | None = None
    """Overrides the file's seed."""
    time_scale: float = 1.0
    start: float | None = None
    """The monkey clock's first instant (Unix time); default now."""
    log_path: Path | None = None
    metrics_port: int = 0
    """0: any free port (printed)."""
    reports_dir: Path = Path("reports")
    platform: str = "local"
    days: float | None = None
    """Stop after this many days on the monkey's clock; None: run until signalled."""
    quiet: bool = False
    say: Callable[[str], None] | None = None


@dataclass
class MonkeyResult:
    decisions: list[Decision] = field(default_factory=list)
    run_dir: Path | None = None
    report: Path | None = None
    log_path: Path | None = None
    interrupted: str | None = None

    @property
    def kills(self) -> list[Decision]:
        return [d for d in self.decisions if d.decision == "killed"]


class SessionActuator:
    """Outage checks and kills through a Session: the faults and platforms experiments use."""

    def __init__(self, session: Session, config: MonkeyConfig) -> None:
        self.session = session
        self.config = config
        self._groups = {g.name: g for g in groups_of(config)}

    async def outage(self) -> str | None:
        if not self.config.outage_check:
            return None
        readings = await self.session.read(self.config.outage_check, role="steady_state",
                                           phase=Phase.OBSERVE, detail="outage check")
        failed = [f"{event.name}: {event.value} (expected {event.tolerance})"
                  for event, _ in readings if not event.ok]
        return "; ".join(failed) or None

    async def kill(self, planned: PlannedKill) -> tuple[str, ...]:
        group = self._groups[planned.group]
        label = f"monkey: {planned.group}"
        spec: FaultBase
        if group.containers is not None:
            spec = ContainerKill(fault="container_kill", labels=dict(group.containers.labels),
                                 engine=group.containers.engine, mode=group.containers.mode,
                                 count=1, duration=0, label=label)
        else:
            spec = InstanceKill(fault="instance_kill", instance=planned.target, count=1,
                                duration=0, label=label)
        scheduled = self.session.add_fault(spec)
        await self.session.inject(scheduled)  # raises FaultError, recorded in the history
        targets = self.session.injection_targets(scheduled)
        await self.session.revert(scheduled.id)  # waits until the replacement is healthy
        return targets


async def run_monkey_async(config: MonkeyConfig, options: MonkeyOptions | None = None, *,
                           handle_signals: bool = False, clock: Clock | None = None
                           ) -> MonkeyResult:
    """Run the monkey until ``options.until`` or a signal; everything it started stops."""
    options = options or MonkeyOptions()
    say = options.say or (_print if not options.quiet else (lambda line: None))
    log_path = options.log_path or (Path(config.kill_log) if config.kill_log
                                    else default_log_path())
    log = KillLog(log_path)
    session = Session(as_experiment(config), RunOptions(platform=options.platform, quiet=True,
                                                        reports_dir=options.reports_dir),
                      judging=Judging.CHECKS)
    result = MonkeyResult(run_dir=session.run_dir, log_path=log_path)
    seed = config.seed if options.seed is None else options.seed
    monkey: Monkey | None = None
    metrics = MetricsServer(lambda: render(*log.counts(config.title),
                                           monkey.next_kill if monkey else None,
                                           config.leashed))
    main = asyncio.current_task()
    restore = _install_signals(main, result, say) if handle_signals and main else None
    try:
        session.enter(Phase.SETUP)
        await session.setup()
        await metrics.start(options.metrics_port)
        session.enter(Phase.OBSERVE)
        if config.load is not None:
            await session.cover(time.time(), min(WARMUP_CAP, _longest_window(config)))
        # The monkey's clock starts once the system is up: setup is not monkey time.
        clock = clock or ScaledClock(options.time_scale, options.start)
        day_since = time.time()

        async def day_report(day: dt.date) -> None:
            nonlocal day_since
            if config.load is not None and session.load is None:
                try:  # Locust ended on its own bound (or died): traffic resumes
                    await session.start_load(config.load)
                    say("the background load had ended: started again")
                except ChaoskitError as error:
                    say(f"could not start the background load again: {error}")
            try:
                page = write_daily_report(session.history, session.experiment,
                                          session.run_dir, day, day_since)
            except Exception as error:  # a report must never stop the monkey
                say(f"could not write the daily report of {day}: {error}")
                return
            day_since = time.time()
            say(f"daily report {page}")

        monkey = Monkey(config, seed=seed, clock=clock, log=log,
                        actuator=SessionActuator(session, config), run=session.run_dir.name,
                        say=say, on_day_end=day_report)
        until = None if options.days is None else clock.now() + options.days * 86400
        say(f"monkey {config.title!r} {'(leashed) ' if config.leashed else ''}started at "
            f"{_iso(clock.now(), monkey)}, time scale {options.time_scale:g}; kill log "
            f"{log_path}; metrics {metrics.url}; run {session.run_dir}")
        session.record(Note(message=f"monkey clock at {_iso(clock.now(), monkey)}, "
                                    f"time scale {options.time_scale:g}"))
        await monkey.run_until(until)
    except asyncio.CancelledError:
        if result.interrupted is None or main is None:
            raise
        main.uncancel()  # our own stop: the teardown below must not see a pending cancel
    finally:
        try:
            await metrics.close()
            finished = await asyncio.shield(session.finish())
            result.report = finished.run_dir / "report.html"
        finally:
            if restore is not None:
                restore()
            result.decisions = monkey.decisions if monkey else []
    return result


def run_monkey(config: MonkeyConfig, options: MonkeyOptions | None = None) -> MonkeyResult:
    """Run the monkey in a new event loop; SIGINT/SIGTERM stop it cleanly."""
    return asyncio.run(run_monkey_async(config, options, handle_signals=True))


def _install_signals(task: asyncio.Task[object], result: MonkeyResult,
                     say: Callable[[str], None]) -> Callable[[], None]:
    loop = asyncio.get_running_loop()

    def stop(name: str) -> None:
        if result.interrupted is not None:
            say(f"{name} again: still stopping, please wait")
            return
        result.interrupted = name
        say(f"{name}: stopping; reverting and tearing down")
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)

    def restore() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)

    return restore


def _longest_window(config: MonkeyConfig) -> float:
    return max((p.probe.window for p in config.outage_check if isinstance(p.probe, LoadProbe)),
               default=1.0)


def _iso(timestamp: float, monkey: Monkey) -> str:
    return dt.datetime.fromtimestamp(timestamp, monkey.calendar.tz).isoformat(timespec="seconds")


def _print(line: str) -> None:
    print(f"chaoskit monkey: {line}", file=sys.stderr, flush=True)
