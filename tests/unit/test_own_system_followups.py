"""What the first user of the examples asked for: a kill by instance id, templates that
survive a removed service, a removable entry point, and topology files validated alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit import cli
from chaoskit.model.faults import InstanceKill
from chaoskit.model.topology import Instance, Topology, plan_instances
from chaoskit.templates import Renderer, placeholder_ports

TOPOLOGY = {
    "name": "t", "entrypoint": "sentinel",
    "regions": [{"name": "r", "zones": ["a", "b"]}],
    "defences": {"sentinel": {"remove": ["sentinel"]}},
    "services": [
        {"name": "redis", "command": ["redis-server"], "ports": ["client"],
         "health": {"tcp": "client"}},
        {"name": "sentinel", "command": ["redis-sentinel"], "ports": ["client"],
         "health": {"tcp": "client"}, "depends_on": ["redis"]},
    ],
}


def test_instance_kill_can_name_one_instance() -> None:
    fault = InstanceKill.model_validate({"fault": "instance_kill", "instance": "redis-a-0"})
    instance = Instance(id="redis-a-0", service="redis", zone="a", region="r", index=0)
    other = instance.model_copy(update={"id": "redis-b-0", "zone": "b"})
    assert fault.selector.matches(instance) and not fault.selector.matches(other)


def test_a_removed_service_has_no_instances_in_templates_and_may_be_the_entrypoint() -> None:
    topology = Topology.model_validate(TOPOLOGY)
    running = topology.without_defences(frozenset({"sentinel"}))
    assert [s.name for s in running.services] == ["redis"]
    renderer = Renderer(running, placeholder_ports(running), disabled=frozenset({"sentinel"}))
    source = "{% for s in instances('sentinel') %}{{ s.address }}{% endfor %}|"
    assert renderer.render(source, renderer.names(None), ("load", "env", "X")) == "|"
    with pytest.raises(ValueError, match="unknown service"):
        renderer.render("{{ instances('nosuch') }}", renderer.names(None), ())
    assert [i.service for i in plan_instances(running)] == ["redis", "redis"]


def test_validate_takes_a_topology_file_alone(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "topology.yaml"
    good.write_text("name: t\nregions: [{name: r, zones: [a]}]\nentrypoint: web\nservices:\n"
                    "  - {name: web, command: [x, '{{ ports.http }}']}\n")
    assert cli.main(["validate", str(good)]) == 0
    assert "ok (topology t, 1 instances)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nregions: [{name: r, zones: [a]}]\nentrypoint: web\nservices:\n"
                   "  - {name: web, command: [x, '{{ ports.peer }}']}\n")
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:5: services[0].command[1]:" in err and "peer" in err


def test_an_experiment_validators_error_points_at_the_field_it_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "topology.yaml").write_text(
        "name: t\nregions: [{name: r, zones: [a]}]\nentrypoint: web\nlinks: shared\n"
        "services:\n  - {name: db, command: [x]}\n"
        "  - {name: web, command: [x], depends_on: [db]}\n")
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(
        "title: t\ntopology: topology.yaml\n"
        "steady_state: [{name: up, probe: instances, tolerance: {min: 1}}]\n"
        "method:\n  - fault: latency\n    service: db\n    latency: 5\n    caller: web\n")
    assert cli.main(["validate", str(experiment)]) == 2
    err = capsys.readouterr().err
    assert f"{experiment}:8: method[0].caller: topology 't' has links: shared" in err, err
