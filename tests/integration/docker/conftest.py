"""Fixtures for the docker platform tests: an engine or a clear skip, and nothing left behind."""

from __future__ import annotations

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
