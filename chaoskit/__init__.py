"""chaoskit: Netflix's Simian Army on a laptop, in CI and on Docker hosts.

Declare an experiment (YAML or Python), run it, read the verdict::

    from chaoskit import load_experiment, run_experiment
    result = run_experiment(load_experiment("experiments/netflix_az.yaml"))
    assert result.verdict == "passed"
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from chaoskit.version import __version__ as __version__

# Exported names → the module defining them. Imported on first use, so that
# ``import chaoskit.model`` (or a target service) does not pull in the runner.
_EXPORTS = {
    **dict.fromkeys(
        ["ChaoskitError", "ConfigError", "FaultError", "LoadError", "PlatformError",
         "ProbeError", "ProxyError"], "chaoskit.errors"),
    **dict.fromkeys(
        ["Compare", "Dependency", "Experiment", "Groups", "Guardrail", "History", "HttpProbe",
         "InstanceKill",
         "InstancesProbe", "InvariantProbe", "LoadProbe", "LoadSpec", "MetricProbe", "Pause",
         "Region", "RegionOutage", "RestartPolicy", "Selector", "Service", "Settings",
         "SteadyStateProbe", "Tolerance", "Topology", "Verdict", "ZoneOutage"], "chaoskit.model"),
    **dict.fromkeys(["load_experiment", "load_topology"], "chaoskit.loader"),
    **dict.fromkeys(["RunOptions", "RunResult", "run_experiment", "run_experiment_async"],
                    "chaoskit.runner"),
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'chaoskit' has no attribute {name!r}")


if TYPE_CHECKING:
    from chaoskit.errors import (
        ChaoskitError,
        ConfigError,
        FaultError,
        LoadError,
        PlatformError,
        ProbeError,
        ProxyError,
    )
    from chaoskit.loader import load_experiment, load_topology
    from chaoskit.model import (
        Compare,
        Dependency,
        Experiment,
        Groups,
        Guardrail,
        History,
        HttpProbe,
        InstanceKill,
        InstancesProbe,
        InvariantProbe,
        LoadProbe,
        LoadSpec,
        MetricProbe,
        Pause,
        Region,
        RegionOutage,
        RestartPolicy,
        Selector,
        Service,
        Settings,
        SteadyStateProbe,
        Tolerance,
        Topology,
        Verdict,
        ZoneOutage,
    )
    from chaoskit.runner import RunOptions, RunResult, run_experiment, run_experiment_async
