"""A system's journal and report: the same journal.json and report.html a run writes.

The hypothesis shown is the set of checks the tests made; the method, the
faults they injected. The judgement is the tests' own: a fault that failed to
inject or revert is an error, a failed check a deviation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from chaoskit.model.experiment import Experiment
from chaoskit.model.history import FaultEvent, History, RunError
from chaoskit.model.verdict import Judgement, Verdict
from chaoskit.runner.environment import Environment
from chaoskit.testing.steady import SteadyCheck

_logger = logging.getLogger(__name__)


def judge_system(history: History, checks: Sequence[SteadyCheck]) -> Judgement:
    """error (a fault step failed) > deviated (a check failed) > passed."""
    errors = [f"{e.label}: {e.step.replace('_', ' ')}: {e.detail}"
              for e in history.of_type(FaultEvent) if e.step.endswith("_failed")]
    errors += [e.message for e in history.of_type(RunError)]
    if errors:
        return Judgement(verdict=Verdict.ERROR, reasons=tuple(errors))
    failed = [f"{c.context}: {r.name}: {r.value if r.value is not None else 'no data'}"
              for c in checks for r in c.failed]
    if failed:
        return Judgement(verdict=Verdict.DEVIATED, reasons=tuple(failed))
    return Judgement(verdict=Verdict.PASSED,
                     reasons=(f"{len(checks)} steady-state check{'s' * (len(checks) != 1)} held",))


def write_system_report(env: Environment, history: History,
                        summary: tuple[Experiment, Judgement]) -> Path | None:
    """journal.json, report.html and junit.xml in the system's run folder; None if it failed.

    A report that cannot be written must not hide the test's own result, so
    the failure is logged, not raised.
    """
    experiment, judgement = summary
    env.experiment = experiment
    try:
        env.write_reports(history, judgement, None)
    except Exception:
        _logger.exception("chaoskit: could not write the report of %s", env.run_dir)
        return None
    return env.run_dir / "report.html"
