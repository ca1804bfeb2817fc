"""``chaoskit run --dry-run``: say exactly what each fault would hit; start and inject nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from chaoskit.faults import build
from chaoskit.model.experiment import Experiment
from chaoskit.model.topology import Instance, Selector, plan_instances
from chaoskit.model.verdict import Judgement, Verdict
from chaoskit.runner.options import RunOptions, RunResult


@runtime_checkable
class Targeted(Protocol):
    """A fault spec that names its instances by a selector (all but container faults)."""

    @property
    def selector(self) -> Selector: ...


@runtime_checkable
class SupportsPreview(Protocol):
    """A fault that can list its candidate targets without touching anything."""

    def preview(self, instances: list[Instance]) -> list[str]: ...


def dry_run(experiment: Experiment, options: RunOptions) -> RunResult:
    topology = experiment.topology
    instances = list(plan_instances(topology)) if topology else []
    print(f"dry run: {experiment.title}")
    groups = experiment.groups
    if topology is not None:
        print(f"  topology {topology.name}: {len(instances)} instances, "
              f"platform {options.platform}")
    if topology is not None and groups.deployments == 2:
        print(f"  deployed twice, control and experiment ({2 * len(instances)} instances); "
              "faults hit the experiment group's copy only, listed below")
    elif groups.share is not None:
        print(f"  cohorts of {groups.share:.0%} of the requests each (header {groups.header}); "
              "request-level faults hit the experiment cohort only")
    else:
        print("  no topology: faults act on existing containers that opted in by label")
    for index, spec in enumerate(experiment.method):
        fault = build(spec)
        if isinstance(fault, SupportsPreview):
            targets = fault.preview(instances)
        else:
            selector = spec.selector if isinstance(spec, Targeted) else Selector()
            targets = [i.id for i in instances if selector.matches(i)]
        when = f"at +{spec.after:g}s for {spec.duration:g}s"
        print(f"  f{index} {spec.label or fault.describe()} {when}")
        amount = getattr(spec, "count", None) or getattr(spec, "percent", None)
        if amount and getattr(spec, "fault", "") in ("instance_kill", "pause"):
            print(f"     chosen at random (seed {experiment.settings.seed}) among:")
        for target in targets:
            print(f"     - {target}")
        if not targets:
            print("     - nothing matches")
    print("nothing was started or injected")
    return RunResult(
        judgement=Judgement(verdict=Verdict.PASSED, reasons=("dry run: nothing injected",)),
        run_dir=Path("."), time_to_recover=None,
    )
