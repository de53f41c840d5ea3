"""Where a notice goes and when: severity routing (seed §5.1) and quiet hours.

Critical reaches every channel that takes criticals at any hour; Warning reaches chat
channels (and any channel that lists warning) and waits out the quiet hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsplan.alerts.events import AlertNotice
from opsplan.plan.models import Channel

_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class QuietHours:
    """A daily window in the plan's timezone; `start > end` wraps past midnight (22:00-08:00)."""

    start: time
    end: time
    tz: ZoneInfo

    def end_if_quiet(self, now: float) -> float | None:
        """When the quiet window holding `now` ends (UTC seconds), or None outside it."""
        local = datetime.fromtimestamp(now, self.tz)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            quiet = self.start <= clock < self.end
            end_day = local.date()
        else:
            quiet = clock >= self.start or clock < self.end
            end_day = local.date() + timedelta(days=1) if clock >= self.start else local.date()
        if not quiet:
            return None
        return datetime.combine(end_day, self.end, tzinfo=self.tz).timestamp()


def parse_quiet_hours(text: str, timezone: str = "UTC") -> QuietHours:
    """'22:00-08:00' -> QuietHours; ValueError with a one-line reason otherwise."""
    match = _QUIET.match(text.strip())
    if not match:
        raise ValueError(f"quiet hours must look like 22:00-08:00 (HH:MM-HH:MM, 24-hour), got '{text}'")
    start = time(int(match[1]), int(match[2]))
    end = time(int(match[3]), int(match[4]))
    if start == end:
        raise ValueError(f"quiet hours '{text}' start and end at the same time")
    return QuietHours(start, end, ZoneInfo(timezone))


def takes(channel: Channel, severity: str) -> bool:
    """Whether `channel` receives a notice of `severity` at all."""
    if severity == "critical":
        return "critical" in channel.severities
    return "warning" in channel.severities


def route(notice: AlertNotice, channels: list[Channel]) -> list[Channel]:
    """The channels a firing or repeat notice goes to (a resolved one follows its firing one)."""
    return [c for c in channels if takes(c, notice.severity)]


def due_at(notice: AlertNotice, now: float, quiet: QuietHours | None) -> float:
    """When a notice may first be sent: now, or the end of the quiet hours for a Warning."""
    if notice.severity == "critical" or quiet is None:
        return now
    end = quiet.end_if_quiet(now)
    return end if end is not None else now
