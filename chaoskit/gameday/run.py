"""Running a GameDay: each step in order, the failure policy, one report at the end.

Each experiment runs exactly as ``chaoskit run`` runs it (its own SETUP to
TEARDOWN, revert in ``finally``), with its run folder inside the GameDay's
folder so the consolidated report links to it relatively. Checkpoints print
their runbook text and wait for Enter only on an interactive terminal without
``--yes``: a GameDay in CI never blocks. A Ctrl-C ends the current run as
``interrupted`` (after reverting), stops the GameDay and still writes the report.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from chaoskit.errors import ChaoskitError
from chaoskit.gameday.loader import PlannedStep, plan
from chaoskit.gameday.model import GameDay, GameDayRecord, StepRecord
from chaoskit.gameday.report import write_gameday_reports
from chaoskit.model.experiment import Experiment
from chaoskit.runner import RunOptions, run_experiment

Prompt = Callable[[str], str]


@dataclass(frozen=True)
class GameDayResult:
    record: GameDayRecord
    folder: Path
    """The GameDay's folder: report.html, gameday.json, and one folder per run."""

    @property
    def exit_code(self) -> int:
        return self.record.exit_code

    @property
    def verdict(self) -> str:
        return self.record.verdict.value

    @property
    def report(self) -> Path:
        return self.folder / "report.html"

    @property
    def summary(self) -> Path:
        return self.folder / "gameday.json"


@dataclass
class _Session:
    gameday: GameDay
    folder: Path
    platform: str
    proxy: str
    quiet: bool
    out: TextIO
    prompt: Prompt | None
    """Asks the operator at a checkpoint; None: do not wait (not a terminal, or --yes)."""

    def say(self, line: str) -> None:
        print(f"gameday: {line}", file=self.out, flush=True)


def run_gameday(
    gameday: GameDay,
    *,
    platform: str = "local",
    proxy: str = "embedded",
    reports_dir: Path = Path("reports"),
    assume_yes: bool = False,
    quiet: bool = False,
    out: TextIO | None = None,
    prompt: Prompt | None = None,
) -> GameDayResult:
    """Run every step in order; return the record (also written as gameday.json + report.html).

    ``assume_yes`` (or stdin not being a terminal) makes checkpoints print and go on.
    ``prompt`` replaces ``input`` for checkpoints (for scripts with their own UI).
    """
    steps = plan(gameday)  # every experiment loaded before the first step starts
    folder = Path(reports_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}-" \
        f"{random.Random().randrange(16**4):04x}-gameday-{_slug(gameday.title)}"
    folder.mkdir(parents=True, exist_ok=True)
    interactive = not assume_yes and (prompt is not None or sys.stdin.isatty())
    session = _Session(gameday, folder, platform, proxy, quiet, out or sys.stdout,
                       (prompt or input) if interactive else None)
    session.say(f"{gameday.title}: {len(steps)} steps, on failure {gameday.on_failure}; "
                f"reports in {folder}")
    started = time.time()
    records: list[StepRecord] = []
    stopped_after: int | None = None
    try:
        for index, planned in enumerate(steps):
            if stopped_after is not None:
                records.append(StepRecord(index=index, kind=planned.step.kind,
                                          name=planned.step.title, verdict="skipped",
                                          experiment=planned.step.experiment,
                                          text=planned.step.checkpoint or ""))
                continue
            kind, title = planned.step.kind, planned.step.title
            session.say(f"step {index + 1}/{len(steps)}: "
                        + (title if title.startswith(kind) else f"{kind} {title}"))
            record = _run_step(session, index, planned)
            records.append(record)
            session.say(_outcome_line(record, folder))
            policy = planned.step.on_failure or gameday.on_failure
            if record.verdict == "interrupted" or (record.failed and policy == "stop"):
                stopped_after = index
                if index + 1 < len(steps):
                    session.say(f"stopping: step {index + 1} {record.verdict}"
                                + ("" if record.verdict == "interrupted"
                                   else " and the policy is on_failure: stop"))
    finally:
        # Also after an unexpected error: what ran so far is reported.
        summary = GameDayRecord(title=gameday.title, description=gameday.description,
                               source=gameday.source, on_failure=gameday.on_failure,
                               platform=platform, started=started, ended=time.time(),
                               steps=tuple(records), stopped_after=stopped_after)
        write_gameday_reports(folder, summary)
    session.say(f"{summary.verdict.value} (exit {summary.exit_code}); "
                f"report: {folder / 'report.html'}")
    return GameDayResult(summary, folder)


def _run_step(session: _Session, index: int, planned: PlannedStep) -> StepRecord:
    step = planned.step
    base = StepRecord(index=index, kind=step.kind, name=step.title, verdict="done",
                      started=time.time(), experiment=step.experiment,
                      text=step.checkpoint or "")
    try:
        if planned.experiment is not None:
            return _experiment(session, base, planned.experiment, step.disable)
        if step.pause is not None:
            time.sleep(step.pause)
        elif step.checkpoint is not None:
            return _checkpoint(session, base, step.checkpoint)
    except KeyboardInterrupt:
        return base.model_copy(update={"verdict": "interrupted", "ended": time.time(),
                                       "exit_code": 130, "reasons": ("interrupted by Ctrl-C",)})
    return base.model_copy(update={"ended": time.time()})


def _experiment(session: _Session, base: StepRecord, experiment: Experiment,
                disable: tuple[str, ...]) -> StepRecord:
    options = RunOptions(platform=session.platform, proxy=session.proxy,
                         disabled=frozenset(disable), reports_dir=session.folder,
                         quiet=session.quiet, plain=None)
    try:
        outcome = run_experiment(experiment, options)  # SIGINT/SIGTERM: reverted, interrupted
    except ChaoskitError as error:
        return base.model_copy(update={"verdict": "error", "ended": time.time(),
                                       "exit_code": error.exit_code, "reasons": (str(error),)})
    return base.model_copy(update={
        "verdict": outcome.judgement.verdict.value, "ended": time.time(),
        "exit_code": outcome.exit_code, "time_to_recover": outcome.time_to_recover,
        "reasons": outcome.judgement.reasons,
        "run_dir": os.path.relpath(outcome.run_dir, session.folder),
    })


def _checkpoint(session: _Session, base: StepRecord, text: str) -> StepRecord:
    session.say("checkpoint ─" + "─" * 60)
    for line in text.strip().splitlines():
        print(f"    {line}", file=session.out, flush=True)
    if session.prompt is None:
        session.say("(not waiting: stdin is not a terminal, or --yes)")
        return base.model_copy(update={"ended": time.time()})
    try:
        answer = session.prompt("    Enter to go on, 'stop' to end the GameDay here: ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("stop", "s", "q", "quit"):
        return base.model_copy(update={"verdict": "interrupted", "ended": time.time(),
                                       "exit_code": 130,
                                       "reasons": ("stopped at this checkpoint",)})
    return base.model_copy(update={"ended": time.time()})


def _outcome_line(record: StepRecord, folder: Path) -> str:
    took = f" in {record.duration:.1f}s" if record.duration is not None else ""
    ttr = (f", time to recover {record.time_to_recover:.1f}s"
           if record.time_to_recover is not None else "")
    where = f"; report: {folder / record.run_dir / 'report.html'}" if record.run_dir else ""
    why = "".join(f"\n    - {r}" for r in record.reasons) if record.failed else ""
    return f"  → {record.verdict}{took}{ttr}{where}{why}"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:50] or "gameday"
