"""Latency Monkey runs through the CLI: the committed experiment, and playback slowed in one zone.

The committed experiment runs once at full length, whatever it slows: its fault
must hit exactly the links its selector chooses. The variants slow playback in
us-east-1a on the small topology, shortened (2 s warm-up, 8 s of latency): the
gateway's retries carry it, and without them users see the timeouts.
"""

from __future__ import annotations

import pytest

from chaoskit.loader import load_experiment
from chaoskit.model.faults import LinkFault
from chaoskit.model.topology import Topology
from chaoskit.proxy.fabric import link_name, plan_links
from chaoskit.proxy.servers import find_toxiproxy
from tests.integration.network.conftest import NO_TOXIPROXY
from tests.integration.runner.conftest import ROOT, Chaoskit, variant

pytestmark = pytest.mark.integration

SLOW_ZONE = ("  - {fault: latency, service: playback, zone: us-east-1a, latency: 2000,"
             " duration: 8s}\n")
STEADY = ("  - {name: play starts succeed, probe: load.success_ratio, window: 5s,"
          " tolerance: {min: 0.99}}\n"
          "  - {name: p99 under a second, probe: load.p99_ms, window: 5s,"
          " tolerance: {max: 1000}}\n")


def links_chosen_by(spec: LinkFault, topology: Topology) -> tuple[str, ...]:
    """What a fault spec should hit, computed from the topology alone (no server)."""
    return tuple(sorted(link_name(caller, upstream) for caller, upstream in plan_links(topology)
                        if spec.selector.matches(upstream)
                        and (spec.caller is None or caller.service == spec.caller)))


def test_netflix_latency_passes_and_removes_its_links(chaoskit: Chaoskit) -> None:
    experiment = load_experiment(ROOT / "experiments" / "netflix_latency.yaml")
    spec = next(f for f in experiment.method if f.fault == "latency")
    assert isinstance(spec, LinkFault) and experiment.topology is not None
    slowed = links_chosen_by(spec, experiment.topology)
    assert slowed
    done = chaoskit.run("run", "experiments/netflix_latency.yaml")
    assert done.code == 0, done.output
    journal = done.journal
    assert journal["judgement"]["verdict"] == "passed"
    assert journal["options"]["proxy"] == "embedded"
    steps = [(e["step"], tuple(sorted(e["targets"]))) for e in done.events("fault")]
    assert steps[1:] == [("inject_effective", slowed), ("revert_called", slowed),
                         ("revert_effective", slowed)]
    chaoskit.assert_nothing_left()


def test_without_retries_a_slow_zone_reaches_users(chaoskit: Chaoskit) -> None:
    path = chaoskit.experiment(variant(method=SLOW_ZONE, steady=STEADY))
    done = chaoskit.run("run", str(path), "--disable", "retries")
    assert done.code == 1, done.output
    assert done.journal["judgement"]["verdict"] == "deviated"
    during = [e for e in done.events("probe")
              if e["phase"] == "observe" and e["name"] == "play starts succeed"]
    assert during and not during[-1]["ok"]
    chaoskit.assert_nothing_left()


def test_a_run_on_the_real_toxiproxy_passes_and_leaves_nothing(chaoskit: Chaoskit) -> None:
    if find_toxiproxy() is None:
        pytest.skip(NO_TOXIPROXY)
    path = chaoskit.experiment(variant(method=SLOW_ZONE, steady=STEADY))
    done = chaoskit.run("run", str(path), "--proxy", "toxiproxy")
    assert done.code == 0, done.output
    assert done.journal["options"]["proxy"] == "toxiproxy"
    assert [e["step"] for e in done.events("fault")][-1] == "revert_effective"
    chaoskit.assert_nothing_left()
