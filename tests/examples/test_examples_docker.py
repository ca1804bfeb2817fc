"""A third-party program's topology on the docker platform: the same templates, named
ports, command health check and defence, every instance a container."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from chaoskit.state import RUN_LABEL
from tests.examples.conftest import require, shortened_example
from tests.integration.docker.conftest import _NO_ENGINE
from tests.integration.runner.conftest import Chaoskit
from tests.resilience.conftest import worst_during

pytestmark = [pytest.mark.docker, pytest.mark.integration]


def test_etcd_keeps_its_quorum_and_clients_on_docker(pair_dir: Path) -> None:
    if _NO_ENGINE is not None:
        pytest.skip(f"no Docker engine answers docker.from_env().ping(): {_NO_ENGINE}")
    require("etcd", "etcdctl")
    experiment = shortened_example("etcd/experiments/member_killed.yaml", pair_dir,
                                   method={0: {"duration": "8s"}})
    tool = Chaoskit(pair_dir / "docker")
    tool.tmp.mkdir(parents=True)
    done = tool.run("run", str(experiment), "--platform", "docker", timeout=240)
    assert done.code == 0, done.output
    assert (worst_during(done)["writes succeed"] or 0) >= 0.99
    assert "docker engine" in done.output  # the run says which image strategy it used
    assert done.run_dir is not None
    client = docker.from_env()
    try:
        left = client.containers.list(all=True, filters={
            "label": f"{RUN_LABEL}={done.run_dir.name}"})
    finally:
        client.close()
    assert not left, f"containers left behind: {[c.name for c in left]}"
    tool.assert_nothing_left()
