"""Holiday calendars from the ``holidays`` package, by country code."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=16)
def country_holidays(code: str) -> Any:
    """The ``holidays`` package's calendar for ``US`` or ``US-CA`` (country-subdivision)."""
    import holidays

    country, _, subdiv = code.partition("-")
    try:
        return holidays.country_holidays(country.upper(), subdiv=subdiv.upper() or None)
    except NotImplementedError:
        raise ValueError(f"unknown holiday calendar {code!r} (a country code of the "
                         "holidays package: US, GB, DE, or US-CA for a subdivision)") from None
