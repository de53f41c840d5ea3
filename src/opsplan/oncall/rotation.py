"""Who is on call when: weekly shifts from the plan's rotation, overrides from the state database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan.oncall.tables import OverrideRow
from opsplan.plan.models import Plan

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Shift:
    start: float
    end: float
    primary: str | None
    secondary: str | None
    override: str | None = None  # who stands in for the rotation's primary, if anyone


class Rotation:
    def __init__(self, plan: Plan):
        self.rotation = plan.oncall.rotation
        self.zone = ZoneInfo(plan.timezone)
        hours, minutes = (int(x) for x in self.rotation.handoff_time.split(":")[:2])
        self._time = time(hours % 24, minutes)
        start = self.rotation.start
        # The first hand-off: the rotation's weekday on or after `start`.
        self._anchor = start + timedelta(days=(WEEKDAYS.index(self.rotation.handoff_day) - start.weekday()) % 7)

    def _handoff(self, k: int) -> float:
        # Local dates and the hand-off time: a daylight-saving change keeps the hand-off at 09:00.
        return datetime.combine(self._anchor + k * WEEK, self._time, self.zone).timestamp()

    def index_at(self, ts: float) -> int:
        local = datetime.fromtimestamp(ts, self.zone).date()
        k = (local - self._anchor).days // 7
        while self._handoff(k) > ts:
            k -= 1
        while self._handoff(k + 1) <= ts:
            k += 1
        return k

    def shift(self, k: int) -> Shift:
        people = self.rotation.people
        primary = people[k % len(people)] if people else None
        secondary = people[(k + 1) % len(people)] if len(people) > 1 else None
        return Shift(self._handoff(k), self._handoff(k + 1), primary, secondary)

    def at(self, ts: float, session: Session | None = None) -> Shift:
        """The shift at `ts`, with an override (the newest one covering `ts`) in force."""
        shift = self.shift(self.index_at(ts))
        if session is None:
            return shift
        person = session.scalar(select(OverrideRow.person).where(OverrideRow.start <= ts, OverrideRow.end > ts)
                                .order_by(OverrideRow.id.desc()).limit(1))
        if person is None or person == shift.primary:
            return shift
        secondary = shift.primary if shift.secondary in (None, person) else shift.secondary
        return Shift(shift.start, shift.end, person, secondary, override=person)

    def shifts(self, start: float, count: int) -> list[Shift]:
        k = self.index_at(start)
        return [self.shift(k + i) for i in range(count)]


def upcoming_overrides(session: Session, start: float, end: float) -> list[dict[str, Any]]:
    """Overrides in force at some time between `start` and `end` (one in force now included), in the
    order they begin: what `oncall show` lists so a swap is seen before its shift."""
    rows = session.execute(select(OverrideRow).where(OverrideRow.end > start, OverrideRow.start < end)
                           .order_by(OverrideRow.start, OverrideRow.id)).scalars()
    return [{"id": r.id, "person": r.person, "start": r.start, "end": r.end, "created_by": r.created_by}
            for r in rows]
