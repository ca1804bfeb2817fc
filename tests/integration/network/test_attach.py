"""Attach mode: chaos on a system chaoskit did not start, through declared proxies.

The system is a ``python -m http.server`` the test starts itself, as a user's
``docker compose up`` or laptop app would be. chaoskit creates the declared proxy
for the run, puts latency and then a partition on it, reads an HTTP probe through
it, and deletes it at teardown; the system itself is never touched. Also
``settings.allow_hosts`` with another loopback address (127.0.0.2): nothing here
leaves this machine.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from chaoskit.errors import ConfigError
from chaoskit.loader import load_experiment
from chaoskit.platform.deployment import free_ports
from chaoskit.runner import run_experiment
from chaoskit.runner.options import RunOptions


@contextlib.contextmanager
def http_server(host: str, folder: Path) -> Iterator[int]:
    """A plain http.server on ``host``, started and killed by the test (not by chaoskit)."""
    (folder / "index.html").write_text("hello from a system chaoskit did not start\n")
    port = free_ports(1)[0]
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", host,
                                "--directory", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://{host}:{port}/", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        process.kill()
        process.wait()


def listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def write(folder: Path, data: dict[str, object]) -> Path:
    path = folder / "attach.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def attach_experiment(upstream: str, listen: str, *,
                      method: list[dict[str, object]] | None = None,
                      allow_hosts: tuple[str, ...] = ()) -> dict[str, object]:
    return {
        "title": "attach: a page through a declared proxy",
        "proxies": [{"name": "app-web", "listen": listen, "upstream": upstream}],
        "steady_state": [
            {"name": "page fast", "probe": "http", "url": f"http://{listen}/",
             "max_latency": "0.5s", "timeout": "1s", "tolerance": {"min": 1}},
            {"name": "page direct", "probe": "http",
             "url": f"http://{upstream}/",
             "timeout": "1s", "tolerance": {"min": 1}},
        ],
        "method": method or [],
        "settings": {"warmup": "0s", "recover_within": "10s", "recovery_window": "1s",
                     "allow_hosts": list(allow_hosts)},
    }


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def details_of(run_dir: Path, name: str) -> list[str]:
    events = json.loads((run_dir / "journal.json").read_text())["history"]["events"]
    return [e["detail"] or "" for e in events if e["type"] == "probe" and e["name"] == name]


def probe_values(run_dir: Path, name: str) -> list[tuple[str, float | None]]:
    events = json.loads((run_dir / "journal.json").read_text())["history"]["events"]
    return [(e["phase"], e["value"]) for e in events
            if e["type"] == "probe" and e["name"] == name]


def test_latency_and_partition_on_a_declared_proxy_and_nothing_left(
        tmp_path: Path, state_dir: Path) -> None:
    with http_server("127.0.0.1", tmp_path) as port:
        listen = f"127.0.0.1:{free_ports(1)[0]}"
        path = write(tmp_path, attach_experiment(f"127.0.0.1:{port}", listen, method=[
            {"fault": "latency", "proxy": "app-web", "latency": 1000, "duration": "3s"},
            {"fault": "partition", "proxy": ["app-web"], "mode": "refuse", "after": "4s",
             "duration": "3s"},
        ]))
        result = run_experiment(load_experiment(path),
                                RunOptions(quiet=True, reports_dir=tmp_path / "reports"))
        proxied = probe_values(result.run_dir, "page fast")
        direct = probe_values(result.run_dir, "page direct")
        print(f"\nthrough the proxy: {proxied}\ndirect: {direct}")
        # Slow, then cut, through the proxy during the faults; the system itself unharmed.
        assert result.verdict == "deviated"
        assert [v for p, v in proxied if p == "baseline"] == [1.0]
        assert [v for p, v in proxied if p == "observe"] == [0.0, 0.0]
        assert 1.0 in [v for p, v in proxied if p in ("recover", "verify")]
        assert [v for p, v in direct if p == "observe"] == [1.0, 1.0]
        details = " ".join(e for e in details_of(result.run_dir, "page fast"))
        assert "latency +1000ms on proxy app-web" in details
        assert "partition refused on proxy app-web" in details and "ConnectError" in details
        # Nothing left: the proxy is gone, the system chaoskit did not start still runs.
        assert not listening("127.0.0.1", int(listen.rsplit(":", 1)[1]))
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
        assert not list(state_dir.glob("*.json"))


def test_a_listen_address_already_taken_names_the_proxy(tmp_path: Path, state_dir: Path,
                                                        ) -> None:
    with http_server("127.0.0.1", tmp_path) as port, socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"127.0.0.1:{holder.getsockname()[1]}"
        path = write(tmp_path, attach_experiment(f"127.0.0.1:{port}", taken))
        result = run_experiment(load_experiment(path),
                                RunOptions(quiet=True, reports_dir=tmp_path / "reports"))
        assert result.exit_code == 4
        journal = (result.run_dir / "journal.json").read_text()
        assert f"proxy 'app-web': listen {taken} is already in use" in journal
        assert not list(state_dir.glob("*.json"))


def test_allow_hosts_opens_another_loopback_address_and_only_it(tmp_path: Path,
                                                                state_dir: Path) -> None:
    with http_server("127.0.0.2", tmp_path) as port:
        upstream = f"127.0.0.2:{port}"
        listen = f"127.0.0.1:{free_ports(1)[0]}"
        refused = write(tmp_path, attach_experiment(upstream, listen))
        with pytest.raises(ConfigError, match=r"'127.0.0.2' is not this machine; list it in "
                                              r"settings.allow_hosts"):
            load_experiment(refused)
        allowed = write(tmp_path, attach_experiment(upstream, listen,
                                                     allow_hosts=("127.0.0.2",)))
        result = run_experiment(load_experiment(allowed),
                                RunOptions(quiet=True, reports_dir=tmp_path / "reports"))
        assert result.verdict == "passed", result.judgement
        # The probe read 127.0.0.2 directly, and the proxy carried bytes to it.
        assert [v for _, v in probe_values(result.run_dir, "page direct")][:1] == [1.0]
        assert not listening("127.0.0.1", int(listen.rsplit(":", 1)[1]))
