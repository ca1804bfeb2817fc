"""Pure data: experiments, topologies, probes, faults, history, verdicts. No I/O here."""

from chaoskit.model.duration import Duration, parse_seconds
from chaoskit.model.experiment import (
    Experiment,
    Groups,
    Guardrail,
    LoadSpec,
    Settings,
    SteadyStateProbe,
)
from chaoskit.model.faults import FaultSpec, InstanceKill, Pause, RegionOutage, ZoneOutage
from chaoskit.model.history import (
    FaultEvent,
    GuardrailBreached,
    History,
    Interrupted,
    LoadSample,
    Note,
    Phase,
    PhaseStarted,
    ProbeReading,
    Recovery,
    RequestStats,
    RunError,
)
from chaoskit.model.probes import (
    Compare,
    HttpProbe,
    InstancesProbe,
    InvariantProbe,
    LoadProbe,
    MetricProbe,
    ProbeSpec,
)
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.topology import (
    GLOBAL,
    Dependency,
    Instance,
    Region,
    RestartPolicy,
    Selector,
    Service,
    Topology,
    plan_instances,
)
from chaoskit.model.verdict import Judgement, Verdict

__all__ = [
    "GLOBAL", "Compare", "Dependency", "Duration", "Experiment", "FaultEvent", "FaultSpec",
    "Groups", "Guardrail",
    "GuardrailBreached", "History", "HttpProbe", "Instance", "InstanceKill", "InstancesProbe",
    "Interrupted", "InvariantProbe", "Judgement", "LoadProbe", "LoadSample", "LoadSpec",
    "MetricProbe", "Note", "Pause", "Phase", "PhaseStarted", "ProbeReading", "ProbeSpec",
    "Recovery", "Region", "RegionOutage", "RequestStats", "RestartPolicy", "RunError",
    "Selector", "Service", "Settings", "SteadyStateProbe", "Tolerance", "Topology", "Verdict",
    "ZoneOutage", "parse_seconds", "plan_instances",
]
