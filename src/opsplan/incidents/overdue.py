"""The overdue incidents as a collector: collectors run before the alert rules in each cycle, so
`IncidentResponseOverdue` fires in the cycle a deadline passes (the incident stage's own cycle hook
runs after the rules, and what it adds reaches only the store and /metrics)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import and_, func, or_, select

from opsplan.incidents.records import OPEN
from opsplan.incidents.tables import IncidentRow
from opsplan.metrics import Sample, sample
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB


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


class OverdueCollector:
    name = "incidents"

    def __init__(self, plan: Plan, db: StateDB, clock: Callable[[], float] = time.time):
        self.severities: list[str] = list(plan.incidents.severities)
        self.db = db
        self.clock = clock

    def collect(self) -> list[Sample]:
        counts = overdue_by_severity(self.db, self.severities, self.clock())
        return [sample("opsplan_incidents_response_overdue", n, incident_severity=s) for s, n in counts.items()]
