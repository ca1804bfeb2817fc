"""Whole runs on --platform docker through the CLI: the experiments pass, and no container
of a run survives it — after success, failure, SIGINT, and a SIGKILLed runner + rollback."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaoskit.platform.docker_image import import_runtime
from tests.integration.runner.conftest import Chaoskit, Finished, variant, wait_for_line

docker = pytest.importorskip("docker")

pytestmark = [pytest.mark.integration, pytest.mark.docker]

ALL_ZONES = "".join(
    f"  - {{fault: zone_outage, zone: us-east-1{z}, duration: 5s}}\n" for z in "abc"
)
LONG = "  - {fault: zone_outage, zone: us-east-1a, duration: 120s}\n"


@pytest.fixture
def chaoskit(tmp_path: Path) -> Chaoskit:
    return Chaoskit(tmp_path)


def containers_of(tool: Chaoskit) -> list[str]:
    """Containers (any state) labelled with one of this test's runs."""
    runs = {p.name for p in tool.reports.iterdir()} if tool.reports.exists() else set()
    client = docker.from_env(timeout=30)
    try:
        return [c.name for c in client.containers.list(all=True, filters={"label": "chaoskit.run"})
                if c.labels.get("chaoskit.run") in runs]
    finally:
        client.close()


@pytest.mark.parametrize("experiment", ["experiments/netflix_az.yaml",
                                        "experiments/netflix_instance.yaml"])
def test_the_core_experiments_pass_on_docker(chaoskit: Chaoskit, experiment: str) -> None:
    done = chaoskit.run("run", experiment, "--platform", "docker", timeout=420)
    assert done.code == 0, done.output[-3000:]
    assert done.journal["options"]["platform"] == "docker"
    assert containers_of(chaoskit) == []
    chaoskit.assert_nothing_left()


def test_a_deviating_run_leaves_no_container(chaoskit: Chaoskit) -> None:
    path = chaoskit.experiment(variant(method=ALL_ZONES))
    done = chaoskit.run("run", str(path), "--platform", "docker", timeout=300)
    assert done.code == 1, done.output[-3000:]
    assert containers_of(chaoskit) == []


def test_sigint_reverts_and_leaves_no_container(chaoskit: Chaoskit) -> None:
    path = chaoskit.experiment(variant(method=LONG))
    process = chaoskit.start("run", str(path), "--platform", "docker")
    wait_for_line(process, "phase  observe", timeout=240)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output[-3000:]
    done = Finished(process.returncode, output, chaoskit.last_run_dir())
    assert done.journal["judgement"]["verdict"] == "interrupted"
    assert containers_of(chaoskit) == []
    chaoskit.assert_nothing_left()


def test_a_sigkilled_runner_then_rollback_leaves_no_container(chaoskit: Chaoskit) -> None:
    path = chaoskit.experiment(variant(method=LONG))
    process = chaoskit.start("run", str(path), "--platform", "docker")
    wait_for_line(process, "phase  observe", timeout=240)
    process.kill()
    process.wait(timeout=10)
    assert containers_of(chaoskit), "containers outlive a SIGKILLed runner until rollback"
    rollback = chaoskit.start("rollback")
    output, _ = rollback.communicate(timeout=120)
    assert rollback.returncode == 0, output
    assert containers_of(chaoskit) == []
    chaoskit.assert_nothing_left()


@pytest.fixture
def user_containers() -> Iterator[tuple[str, Any, Any]]:
    """Two of a user's containers with the same app label; only one opted in."""
    client = docker.from_env(timeout=30)
    app = f"web-{uuid.uuid4().hex[:8]}"
    image = import_runtime(client)
    made = []
    try:
        for name, labels in (("in", {"chaoskit.enable": "true"}), ("out", {})):
            made.append(client.containers.run(
                image, ["/bin/sleep", "600"], name=f"{app}-{name}", detach=True,
                labels={"app": app, **labels},
                volumes={"/bin": {"bind": "/bin", "mode": "ro"},
                         "/lib": {"bind": "/lib", "mode": "ro"},
                         "/lib64": {"bind": "/lib64", "mode": "ro"},
                         "/usr": {"bind": "/usr", "mode": "ro"}},
            ))
        yield app, made[0], made[1]
    finally:
        # By label, not only what run() returned: a container whose start failed was
        # created all the same, and run() raised before handing it back.
        for container in client.containers.list(all=True, filters={"label": f"app={app}"}):
            container.remove(force=True)
        client.close()


def test_dry_run_on_a_users_containers_lists_only_those_that_opted_in(
    chaoskit: Chaoskit, user_containers: tuple[str, Any, Any]
) -> None:
    app, opted_in, other = user_containers
    path = chaoskit.experiment(
        "title: a user's own containers\n"
        "steady_state:\n  - {name: none needed, probe: instances, tolerance: {min: 0}}\n"
        f"method:\n  - {{fault: container_kill, labels: {{app: {app}}}, count: 1}}\n"
    )
    process = chaoskit.start("run", str(path), "--platform", "docker", "--dry-run")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert opted_in.name in output
    assert other.name not in output
    opted_in.reload()
    assert opted_in.status == "running", "a dry run injects nothing"
