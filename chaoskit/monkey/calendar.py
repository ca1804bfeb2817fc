"""Work days, the daily kill window and the minimum-gap threshold, in the monkey's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from chaoskit.monkey.config import WEEKDAYS, ScheduleSpec
from chaoskit.monkey.holiday import country_holidays

MAX_LOOKBACK = 3660
"""Days searched for a work day before giving up (a calendar with none is a bad config)."""


class Calendar:
    """When kills may happen: work days (``days`` minus holidays) and the hours window."""

    def __init__(self, spec: ScheduleSpec) -> None:
        self.spec = spec
        self.tz = zoneinfo.ZoneInfo(spec.hours.time_zone)
        self._weekdays = {WEEKDAYS.index(d) for d in spec.days}
        self._holidays = country_holidays(spec.holidays) if spec.holidays else None

    def holiday(self, day: dt.date) -> str | None:
        """The holiday's name, or None."""
        if self._holidays is None:
            return None
        name = self._holidays.get(day)
        return str(name) if name else None

    def is_workday(self, day: dt.date) -> bool:
        return day.weekday() in self._weekdays and self.holiday(day) is None

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The day's kill window ``[start, end)``, aware, in the monkey's time zone."""
        hours = self.spec.hours
        start = dt.datetime.combine(day, dt.time(hours.start), self.tz)
        if hours.end == 24:
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), self.tz)
        else:
            end = dt.datetime.combine(day, dt.time(hours.end), self.tz)
        return start, end

    def local(self, timestamp: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(timestamp, self.tz)

    def no_kills_since(self, now: float) -> float:
        """Chaos Monkey 2's ``noKillsSince``: a kill at ``now`` is allowed only if the
        group has not been killed at or after the returned time.

        With ``min_time_between_kills`` N work days: the end of the window of the
        Nth work day before today (today itself counts when it is a work day and N
        is 0). So 1d allows one kill per work day, whatever the hours between them.
        """
        remaining = int(self.spec.min_time_between_kills)
        day = self.local(now).date()
        for _ in range(MAX_LOOKBACK):
            if self.is_workday(day):
                if remaining == 0:
                    return self.window(day)[1].timestamp()
                remaining -= 1
            day -= dt.timedelta(days=1)
        return float("-inf")

    def workdays_between(self, earlier: dt.date, later: dt.date) -> int:
        """How many work days after ``earlier`` up to and including ``later``."""
        count = 0
        day = earlier + dt.timedelta(days=1)
        while day <= later:
            count += self.is_workday(day)
            day += dt.timedelta(days=1)
        return count
