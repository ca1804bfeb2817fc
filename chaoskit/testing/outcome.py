"""Whole experiments from tests and scripts: run a file, assert on its verdict.

``run_file`` is the runner's own ``run_experiment`` with overrides a test (or
a GameDay step) needs: defences switched off, settings shortened. Its result
is a :class:`RunResult` whose ``verdict`` compares equal to ``"passed"`` but
carries the reasons, so a failing ``assert outcome.verdict == "passed"``
explains itself (see ``pytest_assertrepr_compare`` in the plugin).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoskit.loader.overrides import with_overrides
from chaoskit.model.experiment import Experiment
from chaoskit.runner import RunOptions, RunResult, run_experiment_async


class VerdictText(str):
    """A verdict word that also knows why and where the report is."""

    reasons: tuple[str, ...]
    report: str

    def __new__(cls, verdict: str, reasons: Iterable[str] = (), report: str = "") -> VerdictText:
        text = super().__new__(cls, verdict)
        text.reasons = tuple(reasons)
        text.report = report
        return text

    def explain(self) -> list[str]:
        return [f"verdict {self!s}", *(f"  - {r}" for r in self.reasons),
                *([f"report: {self.report}"] if self.report else [])]


@dataclass(frozen=True)
class ExperimentOutcome(RunResult):
    """A :class:`RunResult` whose ``verdict`` explains itself in a failed assert."""

    @property
    def verdict(self) -> str:
        return VerdictText(self.judgement.verdict.value, self.judgement.reasons,
                           str(self.report))

    @property
    def report(self) -> Path:
        return self.run_dir / "report.html"


def run_file(path: str | Path, *, platform: str = "local", proxy: str = "embedded",
             disable: Iterable[str] = (), reports_dir: Path = Path("reports"),
             quiet: bool = True, **settings: Any) -> ExperimentOutcome:
    """Load and run one experiment file to its verdict (reverting and tearing down always)."""
    from chaoskit.loader import load_experiment

    experiment = with_overrides(load_experiment(path), settings)
    options = RunOptions(platform=platform, proxy=proxy, disabled=frozenset(disable),
                         reports_dir=Path(reports_dir), quiet=quiet, plain=True)
    return run_loaded(experiment, options)


def run_loaded(experiment: Experiment, options: RunOptions, *,
               handle_signals: bool = False) -> ExperimentOutcome:
    """Run an experiment already loaded, in a loop of its own.

    Without ``handle_signals`` a Ctrl-C cancels the run — which reverts and
    tears down in its finally blocks — and goes on as KeyboardInterrupt (what
    pytest wants). With it, SIGINT/SIGTERM end the run as ``interrupted`` and
    it returns (what a GameDay wants: report, then stop).
    """
    result = asyncio.run(run_experiment_async(experiment, options,
                                              handle_signals=handle_signals))
    return ExperimentOutcome(judgement=result.judgement, run_dir=result.run_dir,
                             time_to_recover=result.time_to_recover)
