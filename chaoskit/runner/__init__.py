"""Running chaos: ``run_experiment`` for scripts, ``Run`` for the experiment's state machine,
``Session`` for the lifecycle every way of running shares (the pytest plugin, GameDays).

Layers above (``chaoskit.testing``, ``chaoskit.gameday``) import these names only.
"""

from __future__ import annotations

import asyncio

from chaoskit.model.experiment import Experiment
from chaoskit.runner.options import RunOptions, RunResult
from chaoskit.runner.run import Run
from chaoskit.runner.schedule import ACTUATION_TIMEOUT, ScheduledFault
from chaoskit.runner.session import Session, new_run_dir


async def run_experiment_async(
    experiment: Experiment, options: RunOptions | None = None, *, handle_signals: bool = False
) -> RunResult:
    """Run one experiment in the running event loop and return its result."""
    options = options or RunOptions()
    if options.dry_run:
        from chaoskit.runner.dry_run import dry_run

        return dry_run(experiment, options)
    return await Run(Session(experiment, options)).execute(handle_signals=handle_signals)


def run_experiment(experiment: Experiment, options: RunOptions | None = None) -> RunResult:
    """Run one experiment to its verdict. SIGINT/SIGTERM revert, tear down, then return."""
    return asyncio.run(run_experiment_async(experiment, options, handle_signals=True))


__all__ = [
    "ACTUATION_TIMEOUT",
    "Run",
    "RunOptions",
    "RunResult",
    "ScheduledFault",
    "Session",
    "new_run_dir",
    "run_experiment",
    "run_experiment_async",
]
