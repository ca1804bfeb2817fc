"""A compared run for real (issue 13, Netflix ChAP): netflix_small deployed twice, the load
split between the groups, a fault in the experiment group only, both groups judged."""

from __future__ import annotations

import json

import pytest

from tests.integration.runner.conftest import SMALL, STREAMING, Chaoskit, Finished, wait_for_line

pytestmark = pytest.mark.integration

COMPARED = f"""\
title: compared pause of every playback instance
topology: {SMALL}
load: {{locustfile: {STREAMING}, users: 10, spawn_rate: 10}}
groups: {{control: true}}
steady_state:
  - {{name: plays, probe: load.success_ratio, window: 5s, compare: {{max_drop: 0.05}}}}
  - {{name: p99, probe: load.p99_ms, window: 5s, tolerance: {{max: 5000}},
     compare: {{max_ratio: 50}}}}
method:
  - {{fault: pause, service: playback, duration: 6s}}
settings: {{seed: 7, warmup: 1s, recover_within: 20s}}
"""


def test_a_compared_run_deploys_twice_and_judges_the_experiment_by_the_control(
    chaoskit: Chaoskit,
) -> None:
    process = chaoskit.start("run", str(chaoskit.experiment(COMPARED)))
    early = wait_for_line(process, "phase  warmup", timeout=120)
    # Both deployments' processes are in the run's one state file, named apart, so a
    # `chaoskit rollback` after a SIGKILLed runner says which deployment each was.
    state = json.loads(next((chaoskit.tmp / "state").glob("*.json")).read_text())
    roles = [p["role"] for p in state["processes"] if p["role"].startswith("instance ")]
    assert len(roles) == 14 and sum("instance control/" in r for r in roles) == 7, roles
    output = early + chaoskit.finish(process, 180)
    done = Finished(process.returncode, output, chaoskit.last_run_dir())
    # Every playback instance of the experiment group hangs: its plays fail, the
    # control group's do not.
    assert done.code == 1, done.output
    journal = done.journal
    assert journal["judgement"]["verdict"] == "deviated"
    assert any("plays" in r and "vs control" in r for r in journal["judgement"]["reasons"])

    # Two deployments of the same topology, the control's named apart.
    deployed = {e["group"]: e["instances"] for e in done.events("deployed")}
    assert set(deployed) == {"experiment", "control"}
    assert len(deployed["experiment"]) == len(deployed["control"]) == 7
    assert all(i.startswith("control/") for i in deployed["control"])
    assert [i.removeprefix("control/") for i in deployed["control"]] == deployed["experiment"]
    assert (done.run_dir / "control" / "locust.log").is_file()  # type: ignore[operator]

    # The load split evenly: both groups' samples, half the users each.
    samples = done.events("load")
    groups = {s["group"] for s in samples}
    assert groups == {"experiment", "control"}
    for group in groups:
        users = {s["users"] for s in samples if s["group"] == group}
        assert max(users) == 5

    # The fault went into the experiment group only.
    hit = {t for e in done.events("fault") if e["step"] == "inject_effective"
           for t in e["targets"]}
    assert hit and hit <= set(deployed["experiment"])
    assert not [e for e in done.events("instance") if e["instance"].startswith("control/")]

    # Compared readings carry both groups' values and the test's result.
    during = [e for e in done.events("probe") if e["phase"] == "observe"
              and e["name"] == "plays"]
    assert during, done.output
    reading = during[0]
    assert reading["control"] is not None and reading["control"] > 0.9
    assert reading["value"] < reading["control"] - 0.05
    assert reading["p_value"] is not None and reading["p_value"] < 0.05
    assert reading["test"].startswith("permutation test of means, one-sided")
    assert reading["values"] and reading["control_values"]
    assert not reading["ok"]
    baseline = [e for e in done.events("probe") if e["phase"] == "baseline"]
    assert baseline and all(e["ok"] and e["control"] is not None for e in baseline)
    chaoskit.assert_nothing_left()
