"""The overdue incidents as a collector, for `IncidentResponseOverdue`: collectors run before the
alert rules in each cycle, while the incident stage's cycle hook runs after them (it is a sink of
their notices), so a gauge that hook adds would reach the store and /metrics but never the rules.

The collector gives the counts the hook made on the previous cycle (no second query per cycle: the
hook counts the overdue incidents anyway), so the alert fires at most one interval after the
deadline passes. With no recent count (the first cycle, a hook that failed) it asks the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from sqlalchemy import and_, func, or_, select

from opsplan.incidents.records import OPEN
from opsplan.incidents.tables import IncidentRow
from opsplan.metrics import Sample, sample
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

STALE_INTERVALS = 3  # a count older than this many intervals is not trusted: the database is asked


def overdue_by_severity(db: StateDB, severities: list[str], now: float) -> dict[str, int]:
    """Open incidents whose acknowledgement or response deadline has passed unmet, per severity
    (every severity of the plan present, 0 when none)."""
    late = or_(and_(IncidentRow.ack_at.is_(None), IncidentRow.ack_due < now),
               and_(IncidentRow.responded_at.is_(None), IncidentRow.respond_due < now))
    counts = dict.fromkeys(severities, 0)
    with db.session() as session:
        rows = session.execute(select(IncidentRow.severity, func.count())
                               .where(IncidentRow.status.in_(OPEN), late).group_by(IncidentRow.severity)).all()
    for severity, n in rows:
        counts[severity] = int(n)
    return counts


class OverdueCount:
    """The last count the incident cycle made, and when."""

    def __init__(self) -> None:
        self.counts: dict[str, int] | None = None
        self.at = 0.0

    def update(self, counts: Mapping[str, int], at: float) -> None:
        self.counts, self.at = dict(counts), at


class OverdueCollector:
    name = "incidents"

    def __init__(self, plan: Plan, db: StateDB, last: OverdueCount | None = None,
                 clock: Callable[[], float] = time.time):
        self.severities: list[str] = list(plan.incidents.severities)
        self.db = db
        self.last = last or OverdueCount()
        self.stale_after = STALE_INTERVALS * plan.monitoring.interval
        self.clock = clock

    def collect(self) -> list[Sample]:
        now = self.clock()
        counts = self.last.counts
        if counts is None or now - self.last.at > self.stale_after:
            counts = overdue_by_severity(self.db, self.severities, now)
        return [sample("opsplan_incidents_response_overdue", counts.get(s, 0), incident_severity=s)
                for s in self.severities]
