"""Business hours in the plan's timezone, public holidays included, and deadlines counted in them.

A major incident opened at 20:00 on a Friday has its two hours counted from Monday 09:00 (or the
next working day after a holiday): the clock stops outside business hours (docs/incidents.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsplan.errors import said
from opsplan.incidents.errors import IncidentError
from opsplan.plan.models import BusinessHours, SeverityLevel

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A deadline further than this finds no business hour: the plan has none (every day a holiday).
SEARCH_DAYS = 400

HolidaySource = Callable[[str, int], Container[date]]


def package_holidays(country: str, year: int) -> Container[date]:
    """The public holidays of `country` in `year` from the `holidays` package (maintained yearly:
    Korea's substitute holidays and election days change from year to year)."""
    import holidays

    return holidays.country_holidays(country, years=year)


def holidays_available() -> bool:
    try:
        import holidays  # noqa: F401
    except ImportError:
        return False
    return True


def _clock_time(text: str) -> time | None:
    """'09:00' -> 09:00; '24:00' -> None, the end of the day."""
    if text == "24:00":
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class BusinessCalendar:
    """When the plan's business hours are open, in its timezone."""

    def __init__(self, hours: BusinessHours, timezone: str, *, holiday_source: HolidaySource | None = None):
        self.hours = hours
        self.zone = ZoneInfo(timezone)
        self._days = {WEEKDAYS.index(d) for d in hours.days}
        self._start = _clock_time(hours.start) or time(0)
        self._end = _clock_time(hours.end)
        self._source = holiday_source or package_holidays
        self._years: dict[int, Container[date]] = {}
        self._extra = set(hours.extra_holidays)

    def is_holiday(self, day: date) -> bool:
        if day in self._extra:
            return True
        country = self.hours.public_holidays
        if not country:
            return False
        if day.year not in self._years:
            try:
                self._years[day.year] = self._source(country, day.year)
            except ImportError:
                # Deadlines still count working days and hours; only the holidays are missing
                # (serve warns once at start; a command's output stays clean).
                log.debug("the holidays package is not installed: %s public holidays are not known", country)
                self._years[day.year] = frozenset()
        return day in self._years[day.year]

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self._days and not self.is_holiday(day)

    def _opening(self, day: date) -> tuple[float, float]:
        start = datetime.combine(day, self._start, self.zone).timestamp()
        end_day, end_time = (day, self._end) if self._end is not None else (day + timedelta(days=1), time(0))
        return start, datetime.combine(end_day, end_time, self.zone).timestamp()

    def is_open(self, ts: float) -> bool:
        day = datetime.fromtimestamp(ts, self.zone).date()
        if not self.is_working_day(day):
            return False
        start, end = self._opening(day)
        return start <= ts < end

    def add(self, ts: float, seconds: float) -> float:
        """The moment `seconds` of business time after `ts` (0: the next moment business is open)."""
        remaining = max(seconds, 0.0)
        day = datetime.fromtimestamp(ts, self.zone).date()
        for _ in range(SEARCH_DAYS):
            if self.is_working_day(day):
                start, end = self._opening(day)
                if ts < end:
                    begin = max(ts, start)
                    if remaining <= end - begin:
                        return begin + remaining
                    remaining -= end - begin
            day += timedelta(days=1)
        raise said(IncidentError, "incident.error.no_business_hours", days=SEARCH_DAYS)


def deadlines(level: SeverityLevel, calendar: BusinessCalendar, start: float) -> tuple[float, float]:
    """(ack_due, respond_due) for an incident of `level` opened (or reopened) at `start`. The response
    deadline is never before the acknowledgement's: "immediately" (0) still needs a person to answer."""
    ack, respond = level.acknowledge, max(level.response, level.acknowledge)
    if level.around_the_clock:
        return start + ack, start + respond
    return calendar.add(start, ack), calendar.add(start, respond)
