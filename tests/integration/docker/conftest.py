"""Fixtures for the docker platform tests: an engine or a clear skip, and nothing left behind."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

docker = pytest.importorskip("docker")

def _engine() -> object | None:
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # any failure means: no usable engine here
        return error
    client.close()
    return None


_NO_ENGINE = _engine()


@pytest.fixture(autouse=True)
def _needs_engine() -> None:
    if _NO_ENGINE is not None:
        pytest.skip(f"no Docker engine answers docker.from_env().ping(): {_NO_ENGINE}")


SECOND_ENGINE_ENV = "CHAOSKIT_DOCKER2_HOST"
"""Names the second, separate engine (``.ci/run`` sets it); the tests then fail without it."""
SECOND_ENGINE_DEFAULT = "unix:///run/chaoskit/docker2.sock"
"""Where ``.ci/second-dockerd.sh`` puts it; tried when the variable is unset."""


@pytest.fixture(scope="session")
def second_engine() -> str:
    """The URL of a second Docker engine, separate from the default one (its own data root).

    Set ``$CHAOSKIT_DOCKER2_HOST`` (``.ci/run`` does) and a missing engine is a failure;
    unset, ``unix:///run/chaoskit/docker2.sock`` is tried and its absence is a skip.
    """
    declared = os.environ.get(SECOND_ENGINE_ENV)
    host = declared or SECOND_ENGINE_DEFAULT
    try:
        second = docker.DockerClient(base_url=host, timeout=10)
        try:
            root = second.info()["DockerRootDir"]
        finally:
            second.close()
        first = docker.from_env(timeout=10)
        try:
            first_root = first.info()["DockerRootDir"]
        finally:
            first.close()
    except Exception as error:  # any failure means: no usable second engine
        why = f"no second Docker engine answers at {host}: {error}"
        if declared:
            pytest.fail(f"{why} (${SECOND_ENGINE_ENV} names it; .ci/second-dockerd.sh starts it)")
        pytest.skip(f"{why}; start one with .ci/second-dockerd.sh or set ${SECOND_ENGINE_ENV}")
    # One engine under two names (a socket and a symlink to it) shares its data root.
    if root == first_root:
        pytest.fail(f"{host} is the default engine again (data root {root}), not a second one")
    return host


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(path))
    return path


@pytest.fixture
def client() -> Iterator[object]:
    c = docker.from_env(timeout=30)
    yield c
    c.close()


@pytest.fixture
def run_id() -> Iterator[str]:
    """A fresh run id; every container labelled with it is removed at the end, pass or fail."""
    rid = f"t{uuid.uuid4().hex[:10]}"
    yield rid
    c = docker.from_env(timeout=30)
    try:
        for container in c.containers.list(all=True, filters={"label": f"chaoskit.run={rid}"}):
            container.remove(force=True, v=True)
    finally:
        c.close()
