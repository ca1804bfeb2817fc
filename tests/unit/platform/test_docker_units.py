"""The docker platform's pure parts: label filters, mounts, argv, engine mapping. No engine."""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from chaoskit.errors import ConfigError
from chaoskit.model.faults import ContainerKill
from chaoskit.model.topology import Topology
from chaoskit.platform.docker import DockerPlatform, container_name
from chaoskit.platform.docker_image import (
    RuntimeImage,
    _outermost,
    _runtime_tar,
    container_argv,
    container_environment,
    container_mounts,
)
from chaoskit.platform.labelled import label_filters
from chaoskit.state import RunState

BIND = RuntimeImage("bind", "chaoskit/local-runtime:x")
IMAGE = RuntimeImage("image", "chaoskit/targets:x", "python:3.11-slim")


def test_the_opt_in_label_is_always_anded_in() -> None:
    assert label_filters({"app": "web", "tier": "a"}) == [
        "app=web", "tier=a", "chaoskit.enable=true"]
    assert label_filters({"app": "web", "chaoskit.enable": "true"}) == [
        "app=web", "chaoskit.enable=true"]
    with pytest.raises(ConfigError):
        label_filters({"app": "web", "chaoskit.enable": "false"})
    with pytest.raises(ConfigError):
        label_filters({})


def test_a_container_fault_needs_a_label() -> None:
    with pytest.raises(ValidationError):
        ContainerKill(fault="container_kill", labels={})
    with pytest.raises(ValidationError):
        ContainerKill(fault="container_kill", labels={"a": "b"}, count=1, percent=10)
    with pytest.raises(ValidationError, match="at least one label"):
        ContainerKill(fault="container_kill", labels={"chaoskit.enable": "true"})
    with pytest.raises(ValidationError, match="can only be 'true'"):
        ContainerKill(fault="container_kill", labels={"app": "web", "chaoskit.enable": "no"})


def test_bind_mode_keeps_argv_and_mounts_the_interpreter_read_only(tmp_path: Path) -> None:
    argv = (sys.executable, "service.py")
    assert container_argv(BIND, argv) == list(argv)
    assert container_argv(IMAGE, argv) == ["python", "service.py"]
    assert container_argv(IMAGE, ("/bin/app", "x")) == ["/bin/app", "x"]
    data = tmp_path / "data"
    mounts = container_mounts(BIND, cwd=str(tmp_path), data_dir=str(data))
    targets = {m["Target"]: m["ReadOnly"] for m in mounts}
    assert targets[str(data)] is False
    assert mounts[-1]["Target"] == str(data)  # after its read-only parent
    assert targets[str(tmp_path)] is True
    assert any(sys.base_prefix == t or sys.base_prefix.startswith(t + "/") for t in targets)
    assert "/usr" in targets and targets["/usr"] is True
    image_mounts = container_mounts(IMAGE, cwd=str(tmp_path), data_dir=str(data))
    assert [m["Target"] for m in image_mounts] == [str(tmp_path), str(data)]


def test_nested_paths_share_one_mount() -> None:
    assert _outermost(["/work/main/.venv", "/work/main", "/usr", "/usr/lib", "/work/mainx"]
                      ) == ["/usr", "/work/main", "/work/mainx"]


def test_environment_puts_the_venv_first_and_keeps_the_contract() -> None:
    env = container_environment(BIND, {"CHAOSKIT_PORT": "1234"})
    assert env["CHAOSKIT_PORT"] == "1234"
    assert env["PATH"].startswith(str(Path(sys.prefix) / "bin") + ":")
    assert not container_environment(IMAGE, {})["PATH"].startswith(sys.prefix)


def test_runtime_tar_mirrors_the_host_top_level_layout() -> None:
    with tarfile.open(fileobj=io.BytesIO(_runtime_tar())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["tmp"].isdir() and members["proc"].isdir()
    for name in ("bin", "lib"):
        host = Path("/") / name
        if host.is_symlink():
            assert members[name].issym() and members[name].linkname == str(host.readlink())
    assert _runtime_tar() == _runtime_tar()  # reproducible: the tag is its hash


def test_zones_map_to_engines_and_unknown_zones_are_rejected(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path))
    base = {"name": "t", "entrypoint": "s", "regions": [{"name": "r", "zones": ["a", "b"]}],
            "services": [{"name": "s", "command": ["python", "x.py"]}]}
    topology = Topology.model_validate(
        {**base, "docker": {"engines": {"a": "unix:///one.sock", "global": "tcp://h:2375"}}})
    assert topology.docker is not None
    platform = DockerPlatform(RunState(run_id="r"), "r", tmp_path,
                              engines=topology.docker.engines)
    assert platform._engine_for("a") == "unix:///one.sock"
    assert platform._engine_for("b") == ""
    assert platform._engine_for("global") == "tcp://h:2375"
    with pytest.raises(ValidationError, match="unknown zone"):
        Topology.model_validate({**base, "docker": {"engines": {"zz": "unix:///x"}}})
    assert Topology.model_validate(base).docker is None


def test_container_names_are_valid_docker_names() -> None:
    assert container_name("20260101-120000 x", "back-us-east-1a-0") == (
        "chaoskit-20260101-120000-x-back-us-east-1a-0")


def test_start_waves_follow_the_declared_upstreams(tmp_path: Path) -> None:
    from chaoskit.platform.deployment import plan_launches
    from chaoskit.platform.docker import _Instance, start_waves

    topology = Topology.model_validate({
        "name": "t", "entrypoint": "edge", "regions": [{"name": "r", "zones": ["a", "b"]}],
        "services": [
            {"name": "store", "command": ["x"]},
            {"name": "ratings", "command": ["x"]},
            {"name": "catalog", "command": ["x"], "depends_on": ["store", "ratings"]},
            {"name": "edge", "command": ["x"], "scope": "global", "depends_on": ["catalog"]},
        ]})
    launches = plan_launches(topology, base_dir=str(tmp_path), data_dir=tmp_path / "d",
                             ports={i: {"http": 1000 + n} for n, i in enumerate(
                                 ["store-a-0", "store-b-0", "ratings-a-0", "ratings-b-0",
                                  "catalog-a-0", "catalog-b-0", "edge-global-0"])})
    waves = start_waves([_Instance(launch, "") for launch in launches])
    assert [sorted({i.launch.instance.service for i in w}) for w in waves] == [
        ["ratings", "store"], ["catalog"], ["edge"]]
    assert sum(len(w) for w in waves) == len(launches)
