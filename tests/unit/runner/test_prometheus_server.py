"""The run's own Prometheus, without running it: its targets, its config, a missing binary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from chaoskit.model import Verdict
from chaoskit.model.history import RunError
from chaoskit.model.topology import Topology
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.registry import PLATFORMS
from chaoskit.runner.prometheus import (
    BINARY_ENV,
    PrometheusError,
    find_prometheus,
    render_config,
    scrape_targets,
)
from tests.unit.runner.test_run import FakeSite, run

TOPOLOGY: dict[str, Any] = {
    "name": "t",
    "entrypoint": "web",
    "regions": [{"name": "r1", "zones": ["r1a", "r1b"]}],
    "services": [
        {"name": "web", "command": ["python", "-m", "web"], "scope": "zone"},
        {"name": "db", "command": ["db"], "scope": "region", "ports": ["client", "admin"],
         "metrics": {"port": "admin", "path": "/prom"}},
        {"name": "cache", "command": ["cache"], "scope": "region", "metrics": "none"},
    ],
}


def _config(tmp_path: Path) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    topology = Topology.model_validate(TOPOLOGY)
    launches = plan_launches(topology, base_dir=str(tmp_path), data_dir=tmp_path / "data")
    config = yaml.safe_load(render_config(scrape_targets(topology, launches)))
    return config, {la.instance.id: dict(la.ports) for la in launches}


def test_every_instance_is_a_target_labelled_with_chaoskit_names(tmp_path: Path) -> None:
    config, ports = _config(tmp_path)
    assert config["global"]["scrape_interval"] == "1s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert sorted(jobs) == ["db", "web"]  # cache says it has no metrics
    web = jobs["web"]
    assert web["metrics_path"] == "/metrics"
    assert [s["labels"] for s in web["static_configs"]] == [
        {"instance": f"web-{zone}-0", "service": "web", "zone": zone, "region": "r1"}
        for zone in ("r1a", "r1b")]
    assert web["static_configs"][0]["targets"] == [f"127.0.0.1:{ports['web-r1a-0']['http']}"]


def test_a_service_names_its_metrics_port_and_path(tmp_path: Path) -> None:
    config, ports = _config(tmp_path)
    (db,) = [job for job in config["scrape_configs"] if job["job_name"] == "db"]
    assert db["metrics_path"] == "/prom"
    assert db["static_configs"][0]["targets"] == [f"127.0.0.1:{ports['db-r1-0']['admin']}"]


def test_nothing_is_sent_anywhere(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    assert set(config) == {"global", "scrape_configs"}  # no remote_write, no alerting


def test_metrics_must_name_a_declared_port() -> None:
    bad = {**TOPOLOGY, "services": [{"name": "web", "command": ["x"], "metrics": {"port": "no"}}]}
    with pytest.raises(ValidationError, match="metrics names unknown port 'no'"):
        Topology.model_validate(bad)


def test_a_missing_binary_names_the_field_and_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(BINARY_ENV, str(tmp_path / "nowhere" / "prometheus"))
    with pytest.raises(PrometheusError) as caught:
        find_prometheus()
    assert "observability.prometheus" in str(caught.value)
    assert "apt-get install prometheus" in str(caught.value)
    assert caught.value.exit_code == 4
    monkeypatch.delenv(BINARY_ENV)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrometheusError, match="no `prometheus` on PATH"):
        find_prometheus()


async def test_a_run_without_the_binary_is_an_error_before_any_instance_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv(BINARY_ENV, str(tmp_path / "nowhere"))
    monkeypatch.setitem(PLATFORMS, "fake", FakeSite())
    runner, site = run(tmp_path, observability={"prometheus": True})
    result = await runner.execute()
    assert result.judgement.verdict == Verdict.ERROR  # exit 4
    (error,) = runner.session.history.of_type(RunError)
    assert error.message.startswith("observability.prometheus: ")
    assert not [c for c in site.platform.calls if c[0] == "start"]
