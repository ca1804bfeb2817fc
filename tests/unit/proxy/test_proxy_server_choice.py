"""Which real Toxiproxy is used: URL, then env binary, then PATH, then ~/go/bin/server."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.proxy.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ProxyApiError,
    ServerFailure,
    error_for,
)
from chaoskit.proxy.servers import ToxiproxyBinary, find_toxiproxy


def _executable(path: Path) -> str:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CHAOSKIT_TOXIPROXY_URL", "CHAOSKIT_TOXIPROXY_SERVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "bin").mkdir()
    (tmp_path / "home" / "go" / "bin").mkdir(parents=True)
    return tmp_path


def test_nothing_found(isolated: Path) -> None:
    assert find_toxiproxy() is None


def test_order_of_preference(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    go = _executable(isolated / "home" / "go" / "bin" / "server")
    assert find_toxiproxy() == ToxiproxyBinary(binary=go)
    on_path = _executable(isolated / "bin" / "toxiproxy-server")
    assert find_toxiproxy() == ToxiproxyBinary(binary=on_path)
    env = _executable(isolated / "mine")
    monkeypatch.setenv("CHAOSKIT_TOXIPROXY_SERVER", env)
    assert find_toxiproxy() == ToxiproxyBinary(binary=env)
    monkeypatch.setenv("CHAOSKIT_TOXIPROXY_URL", "http://127.0.0.1:8474/")
    assert find_toxiproxy() == ToxiproxyBinary(url="http://127.0.0.1:8474")


def test_a_non_executable_env_binary_is_skipped(isolated: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated / "plain").write_text("")
    monkeypatch.setenv("CHAOSKIT_TOXIPROXY_SERVER", str(isolated / "plain"))
    assert find_toxiproxy() is None


@pytest.mark.parametrize(("status", "kind"), [(400, BadRequest), (404, NotFound),
                                              (409, Conflict), (500, ServerFailure),
                                              (503, ServerFailure), (403, ProxyApiError)])
def test_error_mapping(status: int, kind: type[ProxyApiError]) -> None:
    error = error_for(status, "boom")
    assert type(error) is kind and error.status == status and "boom" in str(error)
