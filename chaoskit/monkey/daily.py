"""The daily report: one monkey day's kills on a timeline beside the outage-check readings.

The report code of experiments, given the part of the session's history since the last
daily report (so a compressed day is the real seconds it took), judged as a test-driven
system's checks are: a failing outage check is a deviation of that day.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from chaoskit.checks.verdict import judge_as
from chaoskit.model.experiment import Experiment
from chaoskit.model.history import History, Phase, PhaseStarted
from chaoskit.model.verdict import Judging

DAILY_DIR = "daily"


def write_daily_report(history: History, experiment: Experiment, run_dir: Path,
                       day: dt.date, since: float) -> Path:
    """Write ``<run>/daily/<day>/report.html`` (and its journal); return the page's path."""
    from chaoskit.report import HTML_NAME, write_reports
    from chaoskit.report.journal import Journal

    # The day opens with its phase: the report draws phases from their starts.
    part = History(events=[PhaseStarted(t=since, phase=Phase.OBSERVE),
                           *(e for e in history.events if e.t >= since)])
    titled = experiment.model_copy(update={"title": f"{experiment.title}: {day.isoformat()}"})
    journal = Journal(run_id=f"{run_dir.name}-{day.isoformat()}", experiment=titled,
                      started=since, ended=time.time(),
                      judgement=judge_as(Judging.CHECKS, titled, part),
                      judging=Judging.CHECKS, history=part)
    folder = run_dir / DAILY_DIR / day.isoformat()
    write_reports(folder, journal)
    return folder / HTML_NAME
