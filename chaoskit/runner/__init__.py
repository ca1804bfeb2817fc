"""Running experiments: ``run_experiment`` for scripts, ``Run`` for the state machine."""

from __future__ import annotations

import asyncio

from chaoskit.model.experiment import Experiment
from chaoskit.runner.environment import Environment
from chaoskit.runner.options import RunOptions, RunResult
from chaoskit.runner.run import Run, run_dir_for


async def run_experiment_async(
    experiment: Experiment, options: RunOptions | None = None, *, handle_signals: bool = False
) -> RunResult:
    """Run one experiment in the running event loop and return its result."""
    options = options or RunOptions()
    if options.dry_run:
        from chaoskit.runner.dry_run import dry_run

        return dry_run(experiment, options)
    env = Environment(experiment, options, run_dir_for(experiment, options))
    return await Run(experiment, options, env).execute(handle_signals=handle_signals)


def run_experiment(experiment: Experiment, options: RunOptions | None = None) -> RunResult:
    """Run one experiment to its verdict. SIGINT/SIGTERM revert, tear down, then return."""
    return asyncio.run(run_experiment_async(experiment, options, handle_signals=True))


__all__ = ["Run", "RunOptions", "RunResult", "run_experiment", "run_experiment_async"]
