"""Cron arithmetic the backup engines share: was a scheduled time missed since the last success?"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter


def previous_fire(cron: str, now: float, tz: str) -> float:
    """The latest time at or before `now` the cron expression fired (UTC epoch seconds)."""
    return float(croniter(cron, datetime.fromtimestamp(now, ZoneInfo(tz))).get_prev(float))


def missed_since(cron: str, last_success: float | None, now: float, tz: str) -> float | None:
    """The scheduled time that has passed with no success after it, or None when nothing was missed.

    With no success at all, the last scheduled time counts as missed (a new install runs at start-up).
    """
    due = previous_fire(cron, now, tz)
    if last_success is None or last_success < due:
        return due
    return None
