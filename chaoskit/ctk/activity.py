"""Running one activity as chaostoolkit-lib's ``execute_activity`` does, and one hypothesis.

An activity: pause before, call the provider, record the run (start, end,
duration, output or the failure), pause after. A failed activity is recorded
and the run goes on; only an interruption stops it.

The hypothesis: its probes in order, each judged against its tolerance,
stopping at the first that fails or is not met (CTK's rule, so later probes
are not run then).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chaoskit.ctk.errors import ActivityFailed
from chaoskit.ctk.journal import ActivityRun, SteadyState, jsonable
from chaoskit.ctk.model import Activity, ProbeTolerance
from chaoskit.ctk.providers import run_provider
from chaoskit.ctk.providers.process import LiveProcesses
from chaoskit.ctk.substitute import Configuration, Secrets, substitute
from chaoskit.ctk.tolerance import tolerance_holds


@dataclass(frozen=True)
class Executed:
    run: ActivityRun
    output: Any
    """The provider's output as returned (bytes stay bytes), for the tolerance."""


class Executor:
    """Runs a run's activities with its configuration and secrets."""

    def __init__(self, configuration: Configuration, secrets: Secrets,
                 live: LiveProcesses | None = None) -> None:
        self.configuration = configuration
        self.secrets = secrets
        self.live = live or LiveProcesses()

    def execute(self, activity: Activity) -> Executed:
        pauses = substitute(activity.pauses.model_dump(exclude_none=True)
                            if activity.pauses else {}, self.configuration, self.secrets) or {}
        _pause(pauses.get("before"))
        start = datetime.now(UTC)
        output: Any = None
        exception: list[str] | None = None
        try:
            output = run_provider(activity.provider, self.configuration, self.secrets, self.live)
            status = "succeeded"
        except ActivityFailed as error:
            status = "failed"
            exception = traceback.format_exception(type(error), error, None)
        end = datetime.now(UTC)
        run = ActivityRun(
            activity=activity.model_dump(mode="json", by_alias=True, exclude_unset=True),
            status=status, output=jsonable(output), start=start.isoformat(),
            end=end.isoformat(), duration=(end - start).total_seconds(), exception=exception)
        _pause(pauses.get("after"))
        return Executed(run=run, output=output)

    def call_probe_tolerance(self, tolerance: ProbeTolerance, value: Any) -> Any:
        """A probe tolerance's probe, with the reading injected as its ``value`` argument."""
        provider = tolerance.provider
        arguments = dict(getattr(provider, "arguments", None) or {})
        arguments["value"] = value
        return run_provider(provider.model_copy(update={"arguments": arguments}),
                            self.configuration, self.secrets, self.live)

    def hypothesis(self, probes: list[Activity]) -> SteadyState:
        """Every probe in order until one fails or is outside its tolerance."""
        runs: list[ActivityRun] = []
        for probe in probes:
            executed = self.execute(probe)
            if executed.run.status == "failed":
                runs.append(executed.run.model_copy(update={"tolerance_met": False}))
                return SteadyState(steady_state_met=False, probes=runs)
            assert probe.tolerance is not None  # the model requires one in a hypothesis
            met = tolerance_holds(probe.tolerance, executed.output,
                                  configuration=self.configuration, secrets=self.secrets,
                                  call_probe=self.call_probe_tolerance)
            runs.append(executed.run.model_copy(update={"tolerance_met": met}))
            if not met:
                return SteadyState(steady_state_met=False, probes=runs)
        return SteadyState(steady_state_met=True, probes=runs)


def _pause(seconds: object) -> None:
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        time.sleep(seconds)
    elif isinstance(seconds, str):
        try:
            value = float(seconds)
        except ValueError:
            raise ActivityFailed(f"pause {seconds!r} is not a number of seconds") from None
        if value > 0:
            time.sleep(value)
