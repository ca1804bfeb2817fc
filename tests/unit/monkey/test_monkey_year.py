"""A simulated year through the monkey's own decision loop (a jumping clock, a fake kill).

Figures for the bundled topology (targets/netflix.yaml, grouping by service, payments an
exception), seed 7, 2027, US holidays: see test_mean_gap_per_group_is_the_configured_mean.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import statistics
from pathlib import Path
from typing import Any

import pytest

from chaoskit.monkey import KillLog
from chaoskit.monkey.calendar import Calendar
from tests.unit.monkey.monkey_support import config, simulate

TOLERANCE = 0.20
"""The mean gap of a group over a year is within 20 % of the configured mean. With p = 1/2
per work day and ~250 work days a group has ~125 kills; the gap (in work days) is
geometric with standard deviation sqrt(1-p)/p = 1.41, so the mean's standard error is
~0.13 work days (6 %): 20 % is three standard errors."""

YEAR = ("2027-01-01T00:00:00-08:00", "2028-01-01T00:00:00-08:00")


def gaps(calendar: Calendar, times: list[float]) -> list[int]:
    days = [calendar.local(t).date() for t in times]
    return [calendar.workdays_between(a, b) for a, b in itertools.pairwise(days)]


@pytest.fixture(scope="module")
def default_year(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[float]], Any]:
    """The defaults (mean 2d, min 1d) over 2027, run once for the tests that read it."""
    tmp = tmp_path_factory.mktemp("year")
    cfg = config(tmp)
    monkey, actuator = asyncio.run(simulate(cfg, KillLog(tmp / "log.sqlite3"), *YEAR))
    kills: dict[str, list[float]] = {}
    for d in monkey.decisions:
        if d.decision == "killed":
            kills.setdefault(d.group, []).append(d.decided_at)
    return kills, (cfg, monkey, actuator)


def test_mean_gap_per_group_is_the_configured_mean(default_year: Any) -> None:
    kills, (cfg, _monkey, _) = default_year
    calendar = Calendar(cfg.schedule)
    assert set(kills) == {"edge", "gateway", "playback", "ratings", "recommendations"}
    lines = []
    for group, times in sorted(kills.items()):
        group_gaps = gaps(calendar, times)
        mean = statistics.mean(group_gaps)
        lines.append(f"{group}: {len(times)} kills, mean gap {mean:.2f} work days "
                     f"(configured 2), min {min(group_gaps)} (configured 1)")
        assert abs(mean - 2.0) <= TOLERANCE * 2.0, lines[-1]
        assert min(group_gaps) >= 1, lines[-1]
    print("\n".join(lines))


async def test_no_gap_under_the_minimum(tmp_path: Path) -> None:
    """With a minimum of 3 work days the log refuses the kills the coin would allow."""
    schedule = "  mean_time_between_kills: 2d\n  min_time_between_kills: 3d\n"
    cfg = config(tmp_path, schedule=schedule)
    monkey, _ = await simulate(cfg, KillLog(tmp_path / "log.sqlite3"), *YEAR)
    calendar = Calendar(cfg.schedule)
    by_group: dict[str, list[float]] = {}
    for d in monkey.decisions:
        if d.decision == "killed":
            by_group.setdefault(d.group, []).append(d.decided_at)
    assert any(d.reason == "min_gap" for d in monkey.decisions)
    for group, times in by_group.items():
        assert min(gaps(calendar, times)) >= 3, group
        for earlier, later in itertools.pairwise(times):
            assert earlier < calendar.no_kills_since(later), group


def test_no_kill_outside_hours_on_weekends_or_holidays(default_year: Any) -> None:
    _kills, (cfg, _monkey, actuator) = default_year
    calendar = Calendar(cfg.schedule)
    assert actuator.killed
    for planned in actuator.killed:
        local = planned.time.astimezone(calendar.tz)
        assert 9 <= local.hour < 15, planned
        assert local.weekday() < 5, planned
        assert calendar.holiday(local.date()) is None, planned
    holidays = [dt.date(2027, 1, 1), dt.date(2027, 5, 31), dt.date(2027, 7, 5),
                dt.date(2027, 11, 25), dt.date(2027, 12, 24)]
    killed_days = {p.time.astimezone(calendar.tz).date() for p in actuator.killed}
    assert not killed_days & set(holidays)


def test_exceptions_are_never_hit_and_are_logged(default_year: Any) -> None:
    _kills, (_cfg, monkey, actuator) = default_year
    assert all(not (p.target or "").startswith("payments") for p in actuator.killed)
    skipped = [d for d in monkey.decisions if d.reason == "exception"]
    assert skipped and all(d.group == "payments" for d in skipped)


async def test_leashed_kills_nothing(tmp_path: Path) -> None:
    cfg = config(tmp_path, leashed=True)
    monkey, actuator = await simulate(cfg, KillLog(tmp_path / "log.sqlite3"),
                                      "2027-03-01T00:00:00-08:00", "2027-04-01T00:00:00-07:00")
    assert actuator.killed == []
    reasons = {d.reason for d in monkey.decisions}
    assert "leashed" in reasons
    assert all(d.decision == "skipped" for d in monkey.decisions)


@pytest.mark.parametrize("mean", ["3d", "5d"])
async def test_other_means(tmp_path: Path, mean: str) -> None:
    cfg = config(tmp_path, schedule=f"  mean_time_between_kills: {mean}\n")
    monkey, _ = await simulate(cfg, KillLog(tmp_path / "log.sqlite3"), *YEAR)
    calendar = Calendar(cfg.schedule)
    expected = float(mean[:-1])
    by_group: dict[str, list[float]] = {}
    for d in monkey.decisions:
        if d.decision == "killed":
            by_group.setdefault(d.group, []).append(d.decided_at)
    all_gaps = [g for times in by_group.values() for g in gaps(calendar, times)]
    assert abs(statistics.mean(all_gaps) - expected) <= TOLERANCE * expected
