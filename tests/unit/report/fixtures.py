"""A realistic, deterministic journal: Chaos Gorilla takes out us-east-1a and the platform copes.

Timeline (seconds after T0): setup 0, warmup 2, baseline 7 (readings at 17),
inject 17.1 (effective 17.6), observe 17.7, during-readings 37.6, revert 37.7
(effective 38.9), recover 39.0 (recovered 3.2 s after the revert call),
verify 41.0 (readings 51.0), report 60.5, teardown 60.6, end 62.0. Sixty load
samples, seconds 1..60, with a dip in success and a p99 spike as the zone goes.
"""

from __future__ import annotations

from chaoskit.model.experiment import Experiment, Guardrail, LoadSpec, Settings, SteadyStateProbe
from chaoskit.model.faults import ZoneOutage
from chaoskit.model.history import (
    AnyEvent,
    FaultEvent,
    History,
    LoadSample,
    Phase,
    PhaseStarted,
    ProbeReading,
    Recovery,
    RequestStats,
)
from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.topology import Region, Service, Topology
from chaoskit.model.verdict import Judgement, Verdict
from chaoskit.report.journal import Journal, RunOptionsRecord

T0 = 1_795_000_000.0
"""2026-11-18 11:06:40 UTC: a fixed start, so every rendering is reproducible."""

ZONE_TARGETS = ("gateway-us-east-1a-0", "playback-us-east-1a-0", "playback-us-east-1a-1")
FAULT_LABEL = "zone_outage us-east-1a (terminate)"

# second → (requests, failures, p99 ms): the zone's loss shows as a dip and a spike.
_DIP = {18: (151, 14, 940.0), 19: (168, 9, 710.0), 20: (187, 4, 430.0), 21: (196, 1, 260.0),
        39: (201, 2, 310.0), 40: (205, 0, 190.0)}


def gorilla_experiment(title: str = "Streaming survives the loss of one zone (Chaos Gorilla)"
                       ) -> Experiment:
    topology = Topology(
        name="netflix-mini",
        regions=(Region(name="us-east-1", zones=("us-east-1a", "us-east-1b", "us-east-1c")),),
        services=(
            Service(name="playback", command=("python", "-m", "targets.playback"), replicas=2),
            Service(name="gateway", command=("python", "-m", "targets.gateway"),
                    depends_on=("playback",)),
            Service(name="edge", command=("python", "-m", "targets.edge"), scope="global",
                    depends_on=("gateway",)),
        ),
        entrypoint="edge",
    )
    return Experiment(
        title=title,
        description="One availability zone is lost while users keep pressing play.",
        topology=topology,
        load=LoadSpec(locustfile="targets/load/streaming.py", users=20, spawn_rate=20),
        steady_state=(
            SteadyStateProbe(name="play starts succeed",
                             probe=LoadProbe(probe="load.success_ratio", window=10),
                             tolerance=Tolerance(min=0.99)),
            SteadyStateProbe(name="p99 stays low", probe=LoadProbe(probe="load.p99_ms", window=10),
                             tolerance=Tolerance(max=500)),
        ),
        method=(ZoneOutage(fault="zone_outage", zone="us-east-1a", duration=20),),
        guardrails=(Guardrail(probe=LoadProbe(probe="load.success_ratio", window=3),
                              tolerance=Tolerance(min=0.8)),),
        settings=Settings(seed=7, warmup=5, recover_within=30),
    )


def load_sample(second: int) -> LoadSample:
    """Second ``second`` after T0: ~205 rps, fewer instances (slower) while the zone is out."""
    jitter = (second * 37) % 11 - 5
    requests, failures, p99 = _DIP.get(second, (205 + jitter, 0, 0.0))
    in_outage = 18 <= second < 39
    p50 = 24.0 + (9.0 if in_outage else 0.0) + (second % 3)
    p95 = p50 * 2.4
    if not p99:
        p99 = (150.0 if in_outage else 62.0) + 2 * jitter
    histogram = _histogram(requests, p50, p95, p99)
    return LoadSample(
        t=T0 + second + 1.0, second=int(T0) + second, users=20,
        total=RequestStats(requests=requests, failures=failures, good=requests - failures,
                           p50_ms=p50, p95_ms=p95, p99_ms=p99, response_times=histogram),
    )


def _histogram(requests: int, p50: float, p95: float, p99: float) -> dict[int, int]:
    # Coarse, but its p50/p95/p99 are the sample's own: enough for exact window percentiles.
    at_p50, at_p95, at_p99 = int(requests * 0.5), int(requests * 0.45), int(requests * 0.04)
    return {int(p50): at_p50, int(p95): at_p95, int(p99): at_p99,
            int(p99 * 1.2): requests - at_p50 - at_p95 - at_p99}


def _reading(t: float, phase: Phase, role: str, name: str, value: float, tolerance: Tolerance,
             detail: str = "") -> ProbeReading:
    return ProbeReading(t=T0 + t, phase=phase, role=role,
                        name=name, value=value, ok=tolerance.accepts(value),
                        tolerance=tolerance, detail=detail)


def gorilla_events() -> list[AnyEvent]:
    success, p99, guard = Tolerance(min=0.99), Tolerance(max=500), Tolerance(min=0.8)
    ss = "steady_state"
    during = f"during {FAULT_LABEL}"
    events: list[AnyEvent] = [
        PhaseStarted(t=T0 + 0.0, phase=Phase.SETUP),
        PhaseStarted(t=T0 + 2.0, phase=Phase.WARMUP),
        PhaseStarted(t=T0 + 7.0, phase=Phase.BASELINE),
        _reading(17.0, Phase.BASELINE, ss, "play starts succeed", 1.0, success),
        _reading(17.0, Phase.BASELINE, ss, "p99 stays low", 66.0, p99),
        PhaseStarted(t=T0 + 17.1, phase=Phase.INJECT),
        FaultEvent(t=T0 + 17.15, fault="f0", kind="zone_outage", step="inject_called",
                   label=FAULT_LABEL),
        FaultEvent(t=T0 + 17.6, fault="f0", kind="zone_outage", step="inject_effective",
                   label=FAULT_LABEL, targets=ZONE_TARGETS, detail="3 instances killed"),
        PhaseStarted(t=T0 + 17.7, phase=Phase.OBSERVE),
    ]
    guard_values = {19: 0.907, 20: 0.937, 21: 0.974}
    for second in range(19, 38):
        events.append(_reading(second + 0.05, Phase.OBSERVE, "guardrail",
                               "guardrail load.success_ratio", guard_values.get(second, 1.0),
                               guard))
    events += [
        _reading(37.6, Phase.OBSERVE, ss, "play starts succeed", 0.9932, success, during),
        _reading(37.6, Phase.OBSERVE, ss, "p99 stays low", 412.0, p99, during),
        PhaseStarted(t=T0 + 37.65, phase=Phase.REVERT),
        FaultEvent(t=T0 + 37.7, fault="f0", kind="zone_outage", step="revert_called",
                   label=FAULT_LABEL),
        FaultEvent(t=T0 + 38.9, fault="f0", kind="zone_outage", step="revert_effective",
                   label=FAULT_LABEL, targets=ZONE_TARGETS, detail="3 instances restarted"),
        PhaseStarted(t=T0 + 39.0, phase=Phase.RECOVER),
        _reading(40.0, Phase.RECOVER, "recovery", "play starts succeed", 0.9891, success),
        _reading(40.0, Phase.RECOVER, "recovery", "p99 stays low", 310.0, p99),
        _reading(41.0, Phase.RECOVER, "recovery", "play starts succeed", 0.9968, success),
        _reading(41.0, Phase.RECOVER, "recovery", "p99 stays low", 190.0, p99),
        Recovery(t=T0 + 41.0, seconds=3.2, within=30.0),
        PhaseStarted(t=T0 + 41.0, phase=Phase.VERIFY),
        _reading(51.0, Phase.VERIFY, ss, "play starts succeed", 0.9999, success),
        _reading(51.0, Phase.VERIFY, ss, "p99 stays low", 71.0, p99),
        PhaseStarted(t=T0 + 60.5, phase=Phase.REPORT),
        PhaseStarted(t=T0 + 60.6, phase=Phase.TEARDOWN),
    ]
    events += [load_sample(second) for second in range(1, 61)]
    # The history is appended in time order; a load sample lands when its second closes.
    return sorted(events, key=lambda e: e.t)


def gorilla_journal(title: str | None = None) -> Journal:
    """The whole journal of a passed Gorilla run."""
    experiment = gorilla_experiment(title) if title else gorilla_experiment()
    return Journal(
        chaoskit_version="0.1.0",
        run_id="20261118-110640-1f2e-streaming-survives-the-loss-of-one-zone",
        experiment=experiment,
        options=RunOptionsRecord(platform="local", proxy="embedded"),
        started=T0, ended=T0 + 62.0,
        judgement=Judgement(verdict=Verdict.PASSED, reasons=(
            "the steady state held before, during and after every fault",
            "time to recover: 3.2s")),
        time_to_recover=3.2,
        history=History(events=gorilla_events()),
    )


def deviated_journal() -> Journal:
    """The same run with retries switched off: 7% of plays fail for the whole outage."""
    base = gorilla_journal()
    success = Tolerance(min=0.99)
    events: list[AnyEvent] = []
    for event in base.history.events:
        if isinstance(event, LoadSample) and 18 <= event.second - int(T0) < 39:
            failures = event.total.requests * 7 // 100
            total = event.total.model_copy(update={"failures": failures,
                                                   "good": event.total.requests - failures})
            event = event.model_copy(update={"total": total})
        elif (isinstance(event, ProbeReading) and event.phase == Phase.OBSERVE
              and event.name == "play starts succeed"):
            event = _reading(37.6, Phase.OBSERVE, "steady_state", event.name, 0.9312, success,
                             event.detail)
        elif isinstance(event, ProbeReading) and event.role == "guardrail" and event.value == 1.0:
            event = event.model_copy(update={"value": 0.93})
        events.append(event)
    from chaoskit.checks.verdict import judge

    history = History(events=events)
    return base.model_copy(update={
        "history": history, "judgement": judge(base.experiment, history),
        "options": RunOptionsRecord(platform="local", proxy="embedded", disabled=("retries",)),
    })
