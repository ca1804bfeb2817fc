"""``load.workers``: what the user writes, how many workers it means, and Locust's flags."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chaoskit.errors import ConfigError
from chaoskit.load.distributed import master_args, worker_args, worker_count
from chaoskit.loader import load_experiment
from chaoskit.model.experiment import LoadSpec

FIXTURES = Path(__file__).parents[1] / "fixtures"


def spec(**fields: object) -> LoadSpec:
    return LoadSpec.model_validate({"locustfile": "l.py", **fields})


def experiment(directory: Path, load: str) -> Path:
    """A valid experiment whose line 3 is ``load: {locustfile: l.py, <load>}``."""
    shutil.copy(FIXTURES / "topology.yaml", directory / "topology.yaml")
    (directory / "l.py").write_text("")
    path = directory / "exp.yaml"
    path.write_text("title: t\ntopology: topology.yaml\n"
                    f"load: {{locustfile: l.py, {load}}}\n"
                    "steady_state:\n  - {name: ok, probe: load.p99_ms, tolerance: {max: 500}}\n")
    return path


def test_without_workers_the_load_is_one_locust_process() -> None:
    assert worker_count(spec()) is None


def test_auto_is_one_worker_per_core_and_at_most_one_per_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert worker_count(spec(workers="auto", users=20)) == 8
    assert worker_count(spec(workers="auto", users=3)) == 3
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert worker_count(spec(workers="auto")) == 1
    assert worker_count(spec(workers=2, users=2)) == 2


def test_the_master_binds_loopback_and_waits_a_bounded_time_for_its_workers() -> None:
    args = master_args(workers=3, port=5599, ready_timeout=59.5)
    flag = dict(zip(args[1::2], args[2::2], strict=True))
    assert args[0] == "--master"
    # Locust's defaults are "*" (every interface) and 0 (wait forever).
    assert flag == {"--master-bind-host": "127.0.0.1", "--master-bind-port": "5599",
                    "--expect-workers": "3", "--expect-workers-max-wait": "60"}
    assert worker_args(5599) == ["--worker", "--master-host", "127.0.0.1",
                                 "--master-port", "5599"]


@pytest.mark.parametrize(("value", "expected"), [
    ("workers: 0", "(1 to 64) or auto, got 0"), ("workers: many", "got 'many'"),
    ("workers: 65", "got 65"), ("workers: true", "got True"),
    ("users: 2, workers: 3", "at most one worker per user"),
])
def test_a_bad_workers_value_is_a_file_line_error(
    value: str, expected: str, tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_experiment(experiment(tmp_path, value))
    message = str(raised.value)
    assert "exp.yaml:3" in message and "load.workers" in message, message
    assert expected in message, message
    assert message.count("\n") == 0, message  # one error, not one per member of the union


def test_auto_and_a_number_load_from_yaml(tmp_path: Path) -> None:
    for value, expected in (("auto", "auto"), ("2", 2)):
        load = load_experiment(experiment(tmp_path, f"workers: {value}")).load
        assert load is not None and load.workers == expected
