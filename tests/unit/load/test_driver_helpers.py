"""The driver's pure parts: host policy, failure messages from locust.log, the final JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaoskit.errors import LoadError
from chaoskit.load.buckets import COHORT_SEED_ENV, CohortSettings
from chaoskit.load.driver import check_host, failure_reason, read_final_stats, worker_environ

TRACEBACK = """\
[2026-11-21 05:00:00,000] vm/WARNING/locust.main: something harmless
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/locust/main.py", line 160, in main
    locustfiles = get_locustfiles_locally(options)
  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed
  File "/home/me/load/locustfile.py", line 7, in <module>
    from helpers import make_user
  File "/home/me/load/helpers.py", line 3, in <module>
    raise RuntimeError("no token configured")
RuntimeError: no token configured
"""


def test_a_traceback_becomes_its_innermost_user_frame_and_exception(tmp_path: Path) -> None:
    log = tmp_path / "locust.log"
    log.write_text(TRACEBACK)
    assert failure_reason(log) == "/home/me/load/helpers.py:3: RuntimeError: no token configured"


def test_locusts_error_lines_are_preferred_and_unprefixed(tmp_path: Path) -> None:
    log = tmp_path / "locust.log"
    log.write_text(
        "[2026-11-21 05:00:00,000] vm/WARNING/locust.main: CPU usage above 90%\n"
        "[2026-11-21 05:00:00,001] vm/ERROR/locust.main: No User class found!\n"
        "[2026-11-21 05:00:00,002] vm/INFO/locust.main: Shutting down (exit code 1)\n"
    )
    assert failure_reason(log) == "No User class found!"


def test_only_the_log_of_this_start_is_read(tmp_path: Path) -> None:
    log = tmp_path / "locust.log"
    log.write_text(TRACEBACK)
    offset = log.stat().st_size
    with log.open("a") as out:
        out.write("[2026-11-21 06:00:00,000] vm/WARNING/locust.runners: odd but alive\n")
    assert failure_reason(log, offset) == "odd but alive"
    assert "no output" in failure_reason(tmp_path / "locust.log", log.stat().st_size)
    assert "no log" in failure_reason(tmp_path / "missing.log")


@pytest.mark.parametrize("host", [
    "http://10.0.0.1:80", "http://127.0.0.1.nip.io:80", "http://user@127.0.0.1:80",
    "redis://10.0.0.1:6379", "http://127.0.0.1:notaport", "127.0.0.1:8080", "",
])
def test_hosts_off_this_machine_or_odd_are_refused(host: str) -> None:
    with pytest.raises(LoadError):
        check_host(host)


@pytest.mark.parametrize("host", ["http://127.0.0.1:80", "redis://127.0.0.1:6379",
                                  "https://localhost:443", "http://[::1]:8080"])
def test_any_protocol_on_this_machine_is_accepted(host: str) -> None:
    assert check_host(host) == host


def test_final_stats_from_locusts_json_file(tmp_path: Path) -> None:
    path = tmp_path / "locust_final.json"
    path.write_text(json.dumps([{
        "name": "play", "method": "GET", "num_requests": 4, "num_none_requests": 0,
        "num_failures": 1, "total_response_time": 40.0,
        "response_times": {"5": 3, "25": 1}, "num_reqs_per_sec": {"1795237178": 4},
    }]))
    [play] = read_final_stats(path) or []
    assert (play.name, play.method, play.requests, play.failures) == ("play", "GET", 4, 1)
    assert play.avg_ms == 10.0 and play.p50_ms == 5.0 and play.p99_ms == 25.0
    assert read_final_stats(tmp_path / "absent.json") is None


def test_each_worker_draws_cohorts_from_a_seed_of_its_own() -> None:
    env = {**CohortSettings(share=0.05, seed=7).environ(), "OTHER": "kept"}
    seeds = {CohortSettings.from_environ(worker_environ(env, i)).seed  # type: ignore[union-attr]
             for i in (1, 2, 3)}
    assert seeds == {8, 9, 10}
    assert worker_environ(env, 1)["OTHER"] == "kept" and env[COHORT_SEED_ENV] == "7"
    unseeded = CohortSettings(share=0.05).environ()
    assert worker_environ(unseeded, 2) == unseeded  # fresh entropy stays fresh
