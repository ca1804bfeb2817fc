"""Chaos Gorilla, declared in Python: the same experiment as netflix_az.yaml.

Run it like a YAML file: ``chaoskit run experiments/netflix_az.py``. The
loader takes the module-level ``experiment``.
"""

from chaoskit import (
    Experiment,
    Guardrail,
    LoadProbe,
    LoadSpec,
    Settings,
    SteadyStateProbe,
    Tolerance,
    ZoneOutage,
    load_topology,
)

experiment = Experiment(
    title="Streaming survives the loss of one availability zone (Chaos Gorilla, Python)",
    topology=load_topology("targets/netflix.yaml"),
    load=LoadSpec(locustfile="targets/load/streaming.py", users=20, spawn_rate=20),
    steady_state=(
        SteadyStateProbe(name="play starts succeed",
                         probe=LoadProbe(probe="load.success_ratio", window=10),
                         tolerance=Tolerance(min=0.99)),
        SteadyStateProbe(name="p99 stays low", probe=LoadProbe(probe="load.p99_ms", window=10),
                         tolerance=Tolerance(max=500)),
    ),
    method=(ZoneOutage(fault="zone_outage", zone="us-east-1a", mode="terminate", duration=20),),
    guardrails=(Guardrail(probe=LoadProbe(probe="load.success_ratio", window=3),
                          tolerance=Tolerance(min=0.50)),),
    settings=Settings(seed=7, warmup=5, recover_within=30),
)
