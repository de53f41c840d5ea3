"""Reading and writing incident rows: the status vocabulary, the append-only timeline, and the
dictionary an incident is shown as (CLI `--json`, later the API and pages)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan.errors import said
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.tables import IncidentAlertRow, IncidentRow, TimelineRow
from opsplan.plan.models import Plan
from opsplan.store.state import MAX_ROW_ID

# triggered -> acknowledged -> stage 1..N (the seed's three) -> resolved -> closed; merged and
# cancelled are the other ways out.
OPEN = ("triggered", "acknowledged", "stage")
STATUSES = (*OPEN, "resolved", "closed", "merged", "cancelled")
SYSTEM = "opsplan"  # the actor of what opsplan does by itself (opening from an alert, a breach)
# The timeline entry of a missed deadline, by deadline: its own kind, so counting them is one indexed query.
BREACH_KIND = {"ack": "ack_missed", "respond": "respond_missed"}


def event(session: Session, incident_id: int, kind: str, actor: str, at: float, **data: Any) -> None:
    """Append one timeline entry. Nothing ever updates or deletes one."""
    session.add(TimelineRow(incident_id=incident_id, at=at, kind=kind, actor=actor,
                            data=json.dumps(data, ensure_ascii=False, sort_keys=True)))


def row_or_fail(session: Session, incident_id: int) -> IncidentRow:
    # An id past the column's range (a mistyped number) is no incident, not a failed query.
    row = session.get(IncidentRow, incident_id) if 1 <= incident_id <= MAX_ROW_ID else None
    if row is None:
        raise said(IncidentError, "incident.error.not_found", id=incident_id)
    return row


def title_of(row: IncidentRow) -> dict[str, str]:
    try:
        title = json.loads(row.title)
    except ValueError:
        title = None
    return title if isinstance(title, dict) else {"ko": row.title, "en": row.title}


def as_dict(row: IncidentRow, plan: Plan) -> dict[str, Any]:
    stages = plan.incidents.stages
    stage_name = None
    if row.stage is not None and 1 <= row.stage <= len(stages):
        name = stages[row.stage - 1].name
        stage_name = {"ko": name.ko, "en": name.en}
    return {
        "id": row.id, "title": title_of(row), "description": row.description, "severity": row.severity,
        "status": row.status, "stage": row.stage, "stage_name": stage_name, "source": row.source,
        "dedup_key": row.dedup_key, "opened_at": row.opened_at, "opened_by": row.opened_by,
        "deadlines_from": row.clock_from,
        "ack_due": row.ack_due, "respond_due": row.respond_due,
        "acknowledged_at": row.ack_at, "acknowledged_by": row.ack_by, "responded_at": row.responded_at,
        "ack_breached_at": row.ack_breached_at, "respond_breached_at": row.respond_breached_at,
        "resolved_at": row.resolved_at, "resolved_by": row.resolved_by,
        "closed_at": row.closed_at, "closed_by": row.closed_by, "merged_into": row.merged_into,
        "reopened": row.reopened, "assignee": row.assignee,
    }


def timeline(session: Session, incident_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(TimelineRow).where(TimelineRow.incident_id == incident_id)
                           .order_by(TimelineRow.id)).scalars()
    return [{"at": r.at, "kind": r.kind, "actor": r.actor, "data": json.loads(r.data)} for r in rows]


def linked_alerts(session: Session, incident_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(IncidentAlertRow).where(IncidentAlertRow.incident_id == incident_id)
                           .order_by(IncidentAlertRow.id)).scalars()
    return [{"fingerprint": r.fingerprint, "alert": r.alert, "severity": r.severity, "labels": json.loads(r.labels),
             "started_at": r.started_at, "resolved_at": r.resolved_at} for r in rows]
