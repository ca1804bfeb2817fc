"""A CTK experiment's run: chaostoolkit-lib's run flow with chaoskit's guarantees.

The flow and its judgement are CTK's (``chaoslib.run.Runner._run``), so
``status`` and ``deviated`` come out as ``chaos run`` gives them:

1. the hypothesis before the method (strategies default, before-method-only,
   continuously); not met → the method is not run;
2. the hypothesis every ``frequency`` seconds during the method (during-method-only,
   continuously), optionally failing the run at the first miss (fail-fast);
3. the method: activities in order, ``background`` ones on their own threads; a
   failed activity is recorded and the method goes on;
4. the hypothesis after the method (default, after-method-only, continuously); not
   met → ``deviated``;
5. the rollbacks, by rollback strategy.

Where chaoskit differs on purpose (README, "Coming from Chaos Toolkit"):

- SIGINT and SIGTERM stop the method and the rollbacks still run (CTK skips them
  unless ``--rollback-strategy always``); a signal during the rollbacks is recorded
  and does not stop them;
- with the default strategy the rollbacks do not run when the hypothesis did not
  hold before the method, since nothing was done (CTK plays them); otherwise the
  strategies are CTK's (default skips them after a ``failed`` run);
- exit codes are chaoskit's (:data:`EXIT_CODES` in the README): a hypothesis that
  does not hold before the method exits 3, where ``chaos run`` exits 0.
"""

from __future__ import annotations

import json
import platform
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from chaoskit.ctk.activity import Executor
from chaoskit.ctk.configuration import load_values
from chaoskit.ctk.errors import Interrupted
from chaoskit.ctk.journal import (
    ActivityRun,
    ChaoskitRecord,
    CtkJournal,
    Status,
    SteadyState,
    SteadyStates,
    write_ctk_journal,
)
from chaoskit.ctk.model import Activity, CtkExperiment
from chaoskit.ctk.preflight import preflight
from chaoskit.ctk.substitute import substitute
from chaoskit.ctk.tolerance import describe_tolerance
from chaoskit.errors import ChaoskitError
from chaoskit.model.verdict import Judgement, Verdict

CHAOSLIB_COMPAT = "1.44.0"
"""The chaostoolkit-lib whose run flow this engine follows; written as the journal's
``chaoslib-version`` (CTK's reporter picks its template by it)."""
GATE = ("default", "before-method-only", "continuously", "continously")
DURING = ("during-method-only", "continuously", "continously")
AFTER = ("default", "after-method-only", "continuously", "continously")
INTERRUPT_GRACE = 5.0
"""Seconds an interrupted run waits for background activities (their programs are killed
at once; a Python function cannot be) before the rollbacks start."""


@dataclass(frozen=True)
class CtkRunOptions:
    """Flags of a CTK run; ``None`` takes the experiment's ``runtime`` block, then CTK's
    default (as ``chaos run`` merges them)."""

    reports_dir: Path = Path("reports")
    hypothesis_strategy: str | None = None
    hypothesis_frequency: float | None = None
    fail_fast: bool | None = None
    rollback_strategy: str | None = None
    handle_signals: bool = True
    """Install SIGINT/SIGTERM handlers (main thread only)."""
    write_reports: bool = True
    quiet: bool = False
    variables: tuple[tuple[str, Any], ...] = ()
    """``--var`` values: they replace declared configuration values."""


@dataclass(frozen=True)
class CtkRunResult:
    journal: CtkJournal
    run_dir: Path | None

    @property
    def judgement(self) -> Judgement:
        return self.journal.judgement

    @property
    def exit_code(self) -> int:
        return self.journal.chaoskit.exit_code

    @property
    def journal_path(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / "journal.json"


def run_ctk(experiment: CtkExperiment, options: CtkRunOptions | None = None,
            out: TextIO | None = None) -> CtkRunResult:
    """Run a CTK experiment to its verdict and write its reports.

    Bad input (a missing environment variable, a program or module that cannot be
    found, a host that is not this machine) raises ConfigError before anything runs.
    """
    options = options or CtkRunOptions()
    configuration, secrets = load_values(experiment, overrides=dict(options.variables))
    preflight(experiment, configuration, secrets)
    run = _Run(experiment, options, configuration, secrets, out or sys.stdout)
    journal = run.execute()
    run_dir = None
    if options.write_reports:
        from chaoskit.ctk.report import write_reports

        run_dir = new_run_dir(experiment, options.reports_dir)
        try:
            write_ctk_journal(run_dir, journal)
            write_reports(run_dir, journal)
        except OSError as error:
            raise ChaoskitError(f"the run ended {journal.status} but its reports could not be "
                                f"written to {run_dir}: {error}") from None
    return CtkRunResult(journal=journal, run_dir=run_dir)


def check_ctk(path: str | Path) -> int:
    """``chaos validate``: load, read configuration and secrets, and preflight, running
    nothing; returns how many parts chaoskit will ignore. Raises ConfigError."""
    from chaoskit.ctk.load import load_ctk

    experiment = load_ctk(path)
    configuration, secrets = load_values(experiment)
    preflight(experiment, configuration, secrets)
    return len(experiment.ignored)


def new_run_dir(experiment: CtkExperiment, reports_dir: Path) -> Path:
    """``<date>-<time>-<4 hex>-<slug>``, as chaoskit names every run's folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return reports_dir / f"{stamp}-{random.Random().randrange(16**4):04x}-{experiment.slug}"


@dataclass
class _Flight:
    activity: Activity
    start: datetime


@dataclass
class _Run:
    experiment: CtkExperiment
    options: CtkRunOptions
    configuration: dict[str, Any]
    secrets: dict[str, dict[str, Any]]
    out: TextIO
    status: Status | None = None
    deviated: bool = False
    states: SteadyStates = field(default_factory=SteadyStates)
    during: list[SteadyState] = field(default_factory=list)
    runs: list[ActivityRun] = field(default_factory=list)
    rollbacks: list[ActivityRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    in_flight: dict[int, _Flight] = field(default_factory=dict)
    gate_failed: bool = False
    method_started: bool = False
    error: str | None = None
    engine_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    say_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        runtime = self.experiment.runtime
        self.strategy = self.options.hypothesis_strategy or runtime.hypothesis.strategy
        self.rollback_strategy = self.options.rollback_strategy or runtime.rollbacks.strategy
        self.frequency = float(self.options.hypothesis_frequency
                               or runtime.hypothesis.frequency or 1.0)
        self.fail_fast = bool(self.options.fail_fast if self.options.fail_fast is not None
                              else runtime.hypothesis.fail_fast)
        self.executor = Executor(self.configuration, self.secrets)
        self.probes = self.experiment.hypothesis_probes
        self.deferring = False

    # -- the run -----------------------------------------------------------------------

    def execute(self) -> CtkJournal:
        started = time.time()
        start = datetime.now(UTC).isoformat()
        title = substitute(self.experiment.title, self.configuration, self.secrets)
        self.say(f"Chaos Toolkit experiment: {title}")
        for line in self.experiment.ignored:
            self.say(f"  ignored: {line}")
        for line in self.experiment.warnings:
            self.say(f"  warning: {line}")
        self.notes.extend(f"warning: {line}" for line in self.experiment.warnings)
        self.say(f"  strategies: hypothesis {self.strategy}, rollbacks {self.rollback_strategy}")
        with self._signals():
            try:
                self._phases()
            except Interrupted as interruption:
                self.deferring = True
                self._interrupted(interruption.signal_name)
            except Exception as error:  # chaoskit's own failure, not the system's: exit 4
                self.status = "aborted"
                self.engine_error = f"{type(error).__name__}: {error}"
                self.say(f"chaoskit error: {self.engine_error}")
            self.deferring = True  # from here on a signal is recorded, never raised
            play, why = self._should_rollback()
            if play:
                self._rollbacks()
            else:
                self.say(f"rollbacks not played: {why}")
        status: Status = self.status or "completed"
        judgement = self._judge(status)
        self.say(f"status: {status}, deviated: {str(self.deviated).lower()} → chaoskit verdict "
                 f"{judgement.verdict.value} (exit {judgement.verdict.exit_code})")
        for reason in judgement.reasons:
            self.say(f"  - {reason}")
        return CtkJournal(
            chaoslib_version=CHAOSLIB_COMPAT, platform=platform.platform(),
            node=platform.node(),
            experiment=_declared(self.experiment, title),
            start=start, end=datetime.now(UTC).isoformat(), duration=time.time() - started,
            status=status, deviated=self.deviated,
            steady_states=self.states.model_copy(update={"during": list(self.during)}),
            run=sorted(self.runs, key=lambda r: r.start), rollbacks=list(self.rollbacks),
            chaoskit=ChaoskitRecord(
                verdict=judgement.verdict.value, exit_code=judgement.verdict.exit_code,
                reasons=judgement.reasons, hypothesis_strategy=self.strategy,
                rollback_strategy=self.rollback_strategy, rollbacks_played=play,
                rollbacks_why=why, ignored=self.experiment.ignored,
                notes=tuple(self.notes)))

    def _phases(self) -> None:
        with_hypothesis = bool(self.probes) and self.strategy != "skip"
        if not with_hypothesis and self.strategy != "skip":
            self.say("no steady-state hypothesis with probes: just exploring")
        if with_hypothesis and self.strategy in GATE:
            state = self._hypothesis("before")
            self.states = self.states.model_copy(update={"before": state})
            if not state.steady_state_met:
                self.gate_failed = True
                self.status = _hypothesis_status(state)
                self.notes.append("the hypothesis did not hold before the method: the method "
                                  "was not run (chaoskit exits 3; chaos run exits 0)")
                return
        stop = threading.Event()
        watcher = None
        if with_hypothesis and self.strategy in DURING:
            watcher = threading.Thread(target=self._continuously, args=(stop,), daemon=True,
                                       name="ctk-hypothesis")
            watcher.start()
        try:
            self._method()
        finally:
            stop.set()
            if watcher is not None:
                watcher.join(timeout=None if not self.deferring else INTERRUPT_GRACE)
        if self.status not in ("interrupted", "aborted") and with_hypothesis \
                and self.strategy in AFTER:
            state = self._hypothesis("after")
            self.states = self.states.model_copy(update={"after": state})
            if not state.steady_state_met:
                self.deviated = True
                self.status = _hypothesis_status(state)

    def _hypothesis(self, when: str) -> SteadyState:
        state = self.executor.hypothesis(self.probes)
        for probe in state.probes:
            self.say(f"hypothesis {when}: {probe.activity.get('name')}: {_run_words(probe)}")
        self.say(f"hypothesis {when}: {'met' if state.steady_state_met else 'NOT met'}")
        return state

    def _method(self) -> None:
        self.method_started = True
        background: list[threading.Thread] = []
        try:
            for item in self.experiment.method:
                activity = self.experiment.resolve(item)
                if activity.background:
                    thread = threading.Thread(target=self._background, args=(activity,),
                                              daemon=True, name=f"ctk-{activity.name}")
                    thread.start()
                    background.append(thread)
                else:
                    self._activity(activity, self.runs)
                if self.status in ("aborted", "failed", "interrupted"):
                    break
        except Interrupted:
            raise
        except Exception as error:  # a bug or a bad pause, not an activity failure
            self.status = "aborted"
            self.error = f"{type(error).__name__}: {error}"
            self.say(f"method aborted: {self.error}")
        finally:
            grace = INTERRUPT_GRACE if self.deferring else None
            if self.deferring:
                self.executor.live.kill_all()
            for thread in background:
                thread.join(timeout=grace)

    def _background(self, activity: Activity) -> None:
        try:
            self._activity(activity, self.runs)
        except Exception as error:
            self.notes.append(f"background activity {activity.name} raised {error!r}")

    def _activity(self, activity: Activity, into: list[ActivityRun]) -> None:
        key = id(threading.current_thread()) ^ id(activity)
        with self.lock:
            self.in_flight[key] = _Flight(activity, datetime.now(UTC))
        self.say(f"{activity.type} {activity.name}{' [background]' * activity.background} ...")
        try:
            executed = self.executor.execute(activity)
        except Interrupted as interruption:
            with self.lock:
                flight = self.in_flight.pop(key)
                into.append(_interrupted_run(flight, interruption.signal_name))
            raise
        finally:
            with self.lock:
                self.in_flight.pop(key, None)
        with self.lock:
            into.append(executed.run)
        self.say(f"{activity.type} {activity.name}: {_run_words(executed.run)}")

    def _continuously(self, stop: threading.Event) -> None:
        iteration = failed = 0
        try:
            while not stop.is_set():
                if self.status in ("failed", "interrupted", "aborted"):
                    break
                state = self.executor.hypothesis(self.probes)
                iteration += 1
                with self.lock:
                    self.during.append(state)
                if not state.steady_state_met:
                    failed += 1
                    self.say(f"hypothesis during the method (#{iteration}): NOT met")
                    # CTK's fail-fast ratio is 0 and not settable: the first miss fails.
                    if self.fail_fast:
                        self.status = "failed"
                        self.notes.append(f"fail-fast: the hypothesis was not met during the "
                                          f"method (check {iteration}); the method stopped "
                                          "after its current activity")
                        break
                stop.wait(self.frequency)
        except Exception as error:
            self.status = "aborted"
            self.error = f"the hypothesis during the method raised {error!r}"

    def _interrupted(self, name: str) -> None:
        self.status = "interrupted"
        killed = self.executor.live.kill_all()
        with self.lock:
            # Background Python functions still running after the grace period.
            self.runs.extend(_interrupted_run(f, name) for f in self.in_flight.values())
            self.in_flight.clear()
        self.say(f"interrupted by {name}"
                 + (f" ({killed} running program{'s' * (killed != 1)} killed)" if killed else ""))

    def _should_rollback(self) -> tuple[bool, str]:
        strategy = self.rollback_strategy
        if not self.experiment.rollbacks:
            return False, "the experiment declares none"
        if strategy == "never":
            return False, "rollback strategy never"
        if strategy == "always":
            return True, "rollback strategy always"
        if strategy == "deviated":
            return (self.deviated, "rollback strategy deviated: the run deviated" if self.deviated
                    else "rollback strategy deviated: the run did not deviate")
        if self.gate_failed:
            return False, ("the hypothesis did not hold before the method, so nothing was done "
                           "to roll back (CTK plays them)")
        if self.status == "failed":
            return False, ("the run ended failed, and the default strategy plays rollbacks "
                           "only after a completed or aborted run, as CTK's "
                           "(--rollback-strategy always plays them)")
        if self.status == "interrupted" and self.method_started:
            self.notes.append(f"interrupted by {self.signals[0] if self.signals else 'a signal'}"
                              ": rollbacks played (CTK skips them under the default strategy)")
        return self.method_started, "the method ran"

    def _rollbacks(self) -> None:
        signals_before = len(self.signals)  # before the line that tells the world they start
        self.say("rollbacks ...")
        background: list[threading.Thread] = []
        for item in self.experiment.rollbacks:
            activity = self.experiment.resolve(item)
            try:
                if activity.background:
                    thread = threading.Thread(target=self._activity,
                                              args=(activity, self.rollbacks), daemon=True)
                    thread.start()
                    background.append(thread)
                else:
                    self._activity(activity, self.rollbacks)
            except Exception as error:  # a failed rollback never stops the others (CTK spec)
                self.notes.append(f"rollback {activity.name} raised {error!r}")
        for thread in background:
            thread.join()
        late = self.signals[signals_before:]
        if late:
            self.notes.append(f"{', '.join(late)} received during the rollbacks: they ran to "
                              "the end (CTK stops them)")
            self.say(self.notes[-1])

    # -- judgement -----------------------------------------------------------------------

    def _judge(self, status: Status) -> Judgement:
        if status == "interrupted":
            name = self.signals[0] if self.signals else "a signal"
            played = len(self.rollbacks)
            return Judgement(verdict=Verdict.INTERRUPTED, reasons=(
                f"interrupted by {name}; {played} rollback{'s' * (played != 1)} played",))
        if self.engine_error is not None:
            return Judgement(verdict=Verdict.ERROR, reasons=(
                f"chaoskit could not carry out the run: {self.engine_error}",))
        if self.gate_failed:
            return Judgement(verdict=Verdict.NOT_STEADY, reasons=(
                *_misses("before the method", self.states.before), "the method was not run"))
        if status == "aborted":
            return Judgement(verdict=Verdict.ABORTED,
                             reasons=(f"aborted: {self.error or 'unexpected error'}",))
        if self.deviated:
            return Judgement(verdict=Verdict.DEVIATED,
                             reasons=_misses("after the method", self.states.after))
        if status == "failed":
            missed = [s for s in self.during if not s.steady_state_met]
            return Judgement(verdict=Verdict.ABORTED, reasons=(
                "fail-fast: the hypothesis was not met during the method",
                *_misses("during the method", missed[0] if missed else None)))
        reasons = ["completed: the hypothesis held" if self.probes and self.strategy != "skip"
                   else "completed (no hypothesis was checked)"]
        misses = sum(not s.steady_state_met for s in self.during)
        if misses:
            reasons.append(f"{misses} of {len(self.during)} checks during the method were not "
                           "met (without fail-fast they do not fail a CTK run)")
        failed = [r for r in self.runs if r.status == "failed"]
        if failed:
            reasons.append(f"{len(failed)} method activit{'ies' if len(failed) > 1 else 'y'} "
                           "failed (a failed activity does not fail a CTK run)")
        return Judgement(verdict=Verdict.PASSED, reasons=tuple(reasons))

    # -- plumbing --------------------------------------------------------------------------

    def say(self, line: str) -> None:
        if not self.options.quiet:
            with self.say_lock:  # background threads speak too: one whole line at a time
                self.out.write(line + "\n")
                self.out.flush()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if not self.options.handle_signals or \
                threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            name = signal.Signals(signum).name
            self.signals.append(name)
            if self.deferring:
                # Recorded only: printing here could interrupt a write in progress (a
                # deadlock on the line lock, or a reentrant write); said once they are done.
                return
            self.deferring = True
            raise Interrupted(name)

        previous: dict[signal.Signals, Callable[..., Any] | int | None] = {}
        for which in (signal.SIGINT, signal.SIGTERM):
            previous[which] = signal.signal(which, handler)
        try:
            yield
        finally:
            for which, old in previous.items():
                signal.signal(which, old if old is not None else signal.SIG_DFL)


def _declared(experiment: CtkExperiment, title: str) -> dict[str, Any]:
    """The experiment as the journal keeps it: as declared, title substituted (as CTK), and
    inline secret values masked (CTK writes them out verbatim)."""
    declared = experiment.model_dump(mode="json", by_alias=True, exclude_unset=True)
    declared["title"] = title
    if isinstance(declared.get("secrets"), dict):
        declared["secrets"] = {
            scope: {key: value if isinstance(value, dict) else "***"
                    for key, value in entries.items()}
            for scope, entries in declared["secrets"].items()}
    return declared


def _interrupted_run(flight: _Flight, name: str) -> ActivityRun:
    now = datetime.now(UTC)
    return ActivityRun(
        activity=flight.activity.model_dump(mode="json", by_alias=True, exclude_unset=True),
        status="failed", start=flight.start.isoformat(), end=now.isoformat(),
        duration=(now - flight.start).total_seconds(),
        exception=[f"Interrupted: {name} arrived while the activity ran"])


def _hypothesis_status(state: SteadyState) -> Status:
    """CTK: a probe that raised makes the run ``failed``; one merely not met, ``completed``."""
    return "failed" if any(p.status != "succeeded" for p in state.probes) else "completed"


def _misses(when: str, state: SteadyState | None) -> tuple[str, ...]:
    if state is None:
        return ()
    reasons = []
    for probe in state.probes:
        if probe.tolerance_met:
            continue
        name = probe.activity.get("name")
        if probe.status == "failed":
            error = (probe.exception or ["failed"])[-1].strip()
            reasons.append(f"{when}: probe {name} failed: {error}")
            continue
        try:
            tolerance = Activity.model_validate(probe.activity).tolerance
            expected = describe_tolerance(tolerance) if tolerance is not None else "?"
        except ValueError:
            expected = "its tolerance"
        reasons.append(f"{when}: probe {name} = {_short(probe.output)}, expected {expected}")
    return tuple(reasons)


def _short(value: object, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _run_words(run: ActivityRun) -> str:
    if run.status == "failed":
        return "FAILED: " + (run.exception or ["failed"])[-1].strip()
    met = "" if run.tolerance_met is None else (" (tolerance met)" if run.tolerance_met
                                                 else " (tolerance NOT met)")
    return f"succeeded in {run.duration:.2f}s{met}"


