"""Latency Monkey runs through the CLI: passes with the gateway's defences, deviates without.

The committed experiment runs once at full length; the variants are shortened
(2 s warm-up, 8 s of latency) to keep the suite near two minutes.
"""

from __future__ import annotations

import pytest

from chaoskit.proxy.servers import find_toxiproxy
from tests.integration.network.conftest import NO_TOXIPROXY
from tests.integration.runner.conftest import Chaoskit, variant

pytestmark = pytest.mark.integration

SLOW_ZONE = ("  - {fault: latency, service: playback, zone: us-east-1a, latency: 2000,"
             " duration: 8s}\n")
STEADY = ("  - {name: play starts succeed, probe: load.success_ratio, window: 5s,"
          " tolerance: {min: 0.99}}\n"
          "  - {name: p99 under a second, probe: load.p99_ms, window: 5s,"
          " tolerance: {max: 1000}}\n")
SLOWED = tuple(f"gateway-us-east-1{z}-0--playback-us-east-1a-0" for z in "abc")
"""netflix.yaml: each us-east gateway has its own link to the slow instance."""


def test_netflix_latency_passes_and_removes_its_links(chaoskit: Chaoskit) -> None:
    done = chaoskit.run("run", "experiments/netflix_latency.yaml")
    assert done.code == 0, done.output
    journal = done.journal
    assert journal["judgement"]["verdict"] == "passed"
    assert journal["options"]["proxy"] == "embedded"
    steps = [(e["step"], tuple(sorted(e["targets"]))) for e in done.events("fault")]
    assert steps[1:] == [("inject_effective", SLOWED), ("revert_called", SLOWED),
                         ("revert_effective", SLOWED)]
    chaoskit.assert_nothing_left()


def test_without_retries_the_slow_zone_reaches_users(chaoskit: Chaoskit) -> None:
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
