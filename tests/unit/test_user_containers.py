"""Experiments on a user's own labelled containers need no topology (Pumba style)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.cli import main
from chaoskit.errors import ConfigError
from chaoskit.loader import load_experiment
from chaoskit.model import Experiment
from chaoskit.model.faults import ContainerKill

NO_TOPOLOGY = """\
title: web survives losing a container
load: {locustfile: %(locustfile)s, users: 2, host: "http://127.0.0.1:8080"}
steady_state:
  - {name: home answers, probe: http, url: "http://127.0.0.1:8080/", tolerance: {min: 1}}
method:
  - {fault: container_kill, labels: {app: web}, count: 1, duration: 10s}
"""


def write(tmp_path: Path, body: str) -> Path:
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text("from locust import HttpUser\n")
    path = tmp_path / "web.yaml"
    path.write_text(body % {"locustfile": locustfile})
    return path


def test_an_experiment_without_topology_loads_with_its_container_fault(tmp_path: Path) -> None:
    experiment = load_experiment(write(tmp_path, NO_TOPOLOGY))
    assert experiment.topology is None
    fault = experiment.method[0]
    assert isinstance(fault, ContainerKill)
    assert fault.labels == {"app": "web"}


def test_without_topology_the_load_must_name_its_host(tmp_path: Path) -> None:
    body = NO_TOPOLOGY.replace(', host: "http://127.0.0.1:8080"', "")
    with pytest.raises(ConfigError, match=r"load\.host is required"):
        load_experiment(write(tmp_path, body))


def test_a_container_fault_can_never_target_containers_that_did_not_opt_in() -> None:
    with pytest.raises(ValueError, match=r"chaoskit\.enable"):
        Experiment.model_validate({
            "title": "t",
            "steady_state": [{"name": "x", "probe": "instances", "tolerance": {"min": 0}}],
            "method": [{"fault": "container_kill", "labels": {"chaoskit.enable": "false"}}],
        })


def test_validate_accepts_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(write(tmp_path, NO_TOPOLOGY))]) == 0
    assert "ok" in capsys.readouterr().out


def test_a_link_faults_caller_must_be_a_service_of_the_topology(tmp_path: Path) -> None:
    path = tmp_path / "latency.yaml"
    topology = Path(__file__).resolve().parents[2] / "targets" / "netflix_small.yaml"
    path.write_text(
        f"title: t\ntopology: {topology}\n"
        "steady_state:\n  - {name: x, probe: instances, tolerance: {min: 0}}\n"
        "method:\n  - {fault: latency, service: playback, caller: gatway, latency: 100}\n"
    )
    with pytest.raises(ConfigError, match=r"method\[0\]\.caller: unknown service 'gatway'"):
        load_experiment(path)
