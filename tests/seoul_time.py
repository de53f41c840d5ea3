"""Times in Asia/Seoul for incident tests: a wall-clock moment as UTC seconds and back, and a
holiday source that knows no public holiday (so a test does not depend on the `holidays` package)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> float:
    """'2026-12-04 20:00' in Seoul as UTC seconds."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SEOUL).timestamp()


def seoul(ts: float) -> str:
    return datetime.fromtimestamp(ts, SEOUL).strftime("%a %Y-%m-%d %H:%M")


def no_public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset()
