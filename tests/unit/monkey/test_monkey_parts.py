"""The monkey's pieces: schedule purity, restart, outage, errors, config errors, CLI, metrics."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from chaoskit.cli import main
from chaoskit.errors import ConfigError
from chaoskit.model.faults import ContainerKill
from chaoskit.monkey import KillLog, load_monkey, plan
from chaoskit.monkey.calendar import Calendar
from chaoskit.monkey.clock import ScaledClock
from chaoskit.monkey.config import ScheduleSpec
from chaoskit.monkey.metrics import render
from chaoskit.platform.labelled import label_filters
from tests.unit.monkey.monkey_support import FakeActuator, at, config, monkey_file, simulate


def test_the_schedule_is_a_pure_function(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    first = plan(cfg, 7, dt.date(2026, 12, 1), 30)
    assert first == plan(cfg, 7, dt.date(2026, 12, 1), 30)
    # A day's kills do not depend on the day the plan starts from.
    later = plan(cfg, 7, dt.date(2026, 12, 10), 10)
    assert later == [k for k in first if dt.date(2026, 12, 10) <= k.time.date()
                     < dt.date(2026, 12, 20)]
    assert plan(cfg, 8, dt.date(2026, 12, 1), 30) != first
    assert not [k for k in first if k.time.date() == dt.date(2026, 12, 25)]  # Christmas


def test_no_kills_since_is_chaos_monkey_2s() -> None:
    """The examples of mysql.noKillsSince's documentation."""
    spec = ScheduleSpec(min_time_between_kills=1, hours={"start": 9, "end": 17})
    now = at("2015-12-16T14:30:00-08:00")  # a Wednesday
    assert Calendar(spec).no_kills_since(now) == at("2015-12-15T17:00:00-08:00")
    zero = ScheduleSpec(min_time_between_kills=0, hours={"start": 9, "end": 17})
    assert Calendar(zero).no_kills_since(now) == at("2015-12-16T17:00:00-08:00")
    # Weekends do not count: on a Monday, one work day back is Friday.
    monday = at("2015-12-21T10:00:00-08:00")
    assert Calendar(spec).no_kills_since(monday) == at("2015-12-18T17:00:00-08:00")


async def test_a_restart_resumes_the_log(tmp_path: Path) -> None:
    """A second monkey on the same log neither decides again what the first decided nor
    kills a group the first killed within the minimum gap."""
    cfg = config(tmp_path, schedule="  mean_time_between_kills: 1d\n"
                                    "  min_time_between_kills: 2d\n")
    log = KillLog(tmp_path / "log.sqlite3")
    first, _ = await simulate(cfg, log, "2027-03-01T00:00:00-08:00", "2027-03-01T12:00:00-08:00")
    decided = [d.group for d in first.decisions]
    assert decided
    # Restarted at noon the same day, with its clock a little earlier (clock skew).
    second, _actuator = await simulate(cfg, log, "2027-03-01T11:00:00-08:00",
                                      "2027-03-02T23:00:00-08:00")
    again = [d for d in second.decisions if d.planned in {p.planned for p in first.decisions}]
    assert again == []
    killed_first = {d.group for d in first.decisions if d.decision == "killed"}
    next_day = [d for d in second.decisions if d.planned.startswith("2027-03-02")]
    for decision in next_day:
        if decision.group in killed_first:
            assert decision.reason == "min_gap", decision
    assert len(log.decisions()) == len(first.decisions) + len(second.decisions)


async def test_an_outage_skips_the_kill(tmp_path: Path) -> None:
    actuator = FakeActuator()
    actuator.outage_reason = "instances up: 6.0 (expected >= 7)"
    monkey, _ = await simulate(config(tmp_path), KillLog(tmp_path / "log.sqlite3"),
                               "2027-03-01T00:00:00-08:00", "2027-03-03T00:00:00-08:00",
                               actuator=actuator)
    assert actuator.killed == []
    outages = [d for d in monkey.decisions if d.reason == "outage"]
    assert outages and all("instances up" in d.detail for d in outages)


async def test_a_failed_kill_is_logged_as_an_error(tmp_path: Path) -> None:
    actuator = FakeActuator()
    actuator.fail = "no instance is up"
    monkey, _ = await simulate(config(tmp_path), KillLog(tmp_path / "log.sqlite3"),
                               "2027-03-01T00:00:00-08:00", "2027-03-02T00:00:00-08:00",
                               actuator=actuator)
    errors = [d for d in monkey.decisions if d.reason == "error"]
    assert errors and errors[0].detail == "no instance is up"


@pytest.mark.parametrize(("schedule", "field", "message"), [
    ("  mean_time_between_kills: 12h\n", "mean_time_between_kills", "at least 1d"),
    ("  min_time_between_kills: 1.5d\n", "min_time_between_kills", "whole work days"),
    ("  days: [mon, funday]\n", "days", "funday"),
])
def test_bad_schedules_name_their_line(tmp_path: Path, schedule: str, field: str,
                                       message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_monkey(monkey_file(tmp_path, schedule=schedule))
    assert caught.value.line is not None
    assert field in str(caught.value) and message in str(caught.value)


def test_bad_time_zone_holidays_and_exception(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(f"title: t\ntopology: {monkey_file(tmp_path).read_text().split()[4]}\n"
                    "schedule:\n  hours: {time_zone: Mars/Olympus}\n")
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_monkey(path)
    path.write_text(path.read_text().replace("hours: {time_zone: Mars/Olympus}",
                                             "holidays: XX"))
    with pytest.raises(ConfigError, match="unknown holiday calendar"):
        load_monkey(path)
    path.write_text(path.read_text().replace("holidays: XX",
                                             "exceptions: [{service: billing}]"))
    with pytest.raises(ConfigError, match="unknown service 'billing'") as caught:
        load_monkey(path)
    assert caught.value.line == 4


def test_containers_only_opted_in(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("title: c\ncontainers: {labels: {app: web, chaoskit.enable: 'false'}}\n")
    with pytest.raises(ConfigError, match=r"chaoskit\.enable can only be 'true'"):
        load_monkey(path)
    path.write_text("title: c\ncontainers: [{labels: {app: web}}, {labels: {app: api}}]\n")
    cfg = load_monkey(path)
    kills = plan(cfg, 1, dt.date(2027, 3, 1), 10)
    assert {k.group for k in kills} == {"app=web", "app=api"}
    # The kill is a container_kill of one of the group's opted-in containers.
    spec = ContainerKill(fault="container_kill", labels=dict(cfg.containers[0].labels), count=1)
    assert "chaoskit.enable=true" in label_filters(spec.labels)


def test_cli_schedule_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = monkey_file(tmp_path)
    assert main(["monkey", "schedule", str(path), "--days", "30", "--seed", "7",
                 "--start", "2027-03-01", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and set(lines[0]) == {"time", "group", "target"}
    for line in lines:
        when = dt.datetime.fromisoformat(line["time"])
        assert when.utcoffset() is not None and line["time"][-6] in "+-"
        assert when.second == when.second  # to the second
        assert line["target"] and not line["target"].startswith("payments")
    expected = [k.as_json() for k in plan(load_monkey(path), 7, dt.date(2027, 3, 1), 30)
                if k.target]
    assert lines == expected


async def test_cli_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = KillLog(tmp_path / "log.sqlite3")
    await simulate(config(tmp_path), log, "2027-03-01T00:00:00-08:00",
                   "2027-03-13T00:00:00-08:00")
    assert main(["monkey", "log", "--log", str(log.path)]) == 0
    out = capsys.readouterr().out
    assert "killed" in out and "skipped (exception)" in out
    assert main(["monkey", "log", "--log", str(tmp_path / "none.sqlite3")]) == 2


def test_metrics_text() -> None:
    text = render({"playback": 3}, {"outage": 2}, 1_800_000_000.0, False)
    assert 'chaoskit_monkey_kills_total{group="playback"} 3' in text
    assert 'chaoskit_monkey_skips_total{reason="outage"} 2' in text
    assert 'chaoskit_monkey_skips_total{reason="min_gap"} 0' in text
    assert "chaoskit_monkey_next_kill_timestamp_seconds 1800000000.000" in text


def test_scaled_clock_compresses_time() -> None:
    clock = ScaledClock(3600, start=at("2027-03-01T09:00:00-08:00"))
    assert clock.real_seconds(3600) == 1
    assert clock.now() - at("2027-03-01T09:00:00-08:00") < 3600  # well under a real second


def test_outage_checks_name_what_exists(tmp_path: Path) -> None:
    body = ("outage_check:\n"
            "  - {probe: instances, selector: {zone: us-east-9z}, tolerance: {min: 1}}\n")
    with pytest.raises(ConfigError, match="unknown zone 'us-east-9z'") as caught:
        load_monkey(monkey_file(tmp_path, body))
    assert caught.value.line is not None and "outage_check[0]" in str(caught.value)


def test_the_daily_report_holds_the_days_kills_and_checks(tmp_path: Path) -> None:
    from chaoskit.model.history import (
        FaultEvent,
        FaultStep,
        History,
        LoadSample,
        Phase,
        PhaseStarted,
        ProbeReading,
        RequestStats,
    )
    from chaoskit.model.tolerance import Tolerance
    from chaoskit.monkey.daily import write_daily_report
    from chaoskit.monkey.service import as_experiment

    cfg = config(tmp_path, body="outage_check:\n  - {probe: load.success_ratio, window: 5s, "
                                "tolerance: {min: 0.99}}\n")
    history = History()
    history.append(PhaseStarted(t=90.0, phase=Phase.SETUP))  # before the day: not in it
    for second in range(190, 210):  # the load, as a run records it
        history.append(LoadSample(t=second + 1.0, second=second, users=10,
                                  total=RequestStats(requests=50, good=50, p99_ms=20.0)))
    history.append(ProbeReading(t=100.0, phase=Phase.OBSERVE, role="steady_state",
                                name="old", value=0.5, ok=False, tolerance=Tolerance(min=0.99)))
    for t, step in ((201.0, FaultStep.INJECT_CALLED), (201.1, FaultStep.INJECT_EFFECTIVE),
                    (201.2, FaultStep.REVERT_CALLED), (203.0, FaultStep.REVERT_EFFECTIVE)):
        history.append(FaultEvent(t=t, fault="f0", kind="instance_kill", step=step,
                                  label="monkey: playback", targets=("playback-us-east-1a-0",)))
    history.append(ProbeReading(t=200.0, phase=Phase.OBSERVE, role="steady_state",
                                name="outage check load.success_ratio", value=1.0, ok=True,
                                tolerance=Tolerance(min=0.99)))
    page = write_daily_report(history, as_experiment(cfg), tmp_path / "run",
                              dt.date(2027, 3, 1), since=150.0)
    assert page == tmp_path / "run" / "daily" / "2027-03-01" / "report.html"
    html = page.read_text()
    assert "2027-03-01" in html and "monkey: playback" in html
    journal = json.loads((page.parent / "journal.json").read_text())
    assert journal["judgement"]["verdict"] == "passed"  # the failing reading was the day before
    from chaoskit.report import read_journal

    read_journal(page.parent / "journal.json")  # `chaoskit report` reads a monkey's journal


async def test_metrics_server_answers_on_loopback() -> None:
    import asyncio

    from chaoskit.monkey.metrics import MetricsServer

    server = MetricsServer(lambda: render({"playback": 1}, {}, None, True))
    await server.start(0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = (await reader.read()).decode()
        writer.close()
        assert answer.startswith("HTTP/1.1 200")
        assert 'chaoskit_monkey_kills_total{group="playback"} 1' in answer
        assert "chaoskit_monkey_leashed 1" in answer
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 404")
        writer.close()
    finally:
        await server.close()
