"""Follow-up actions of an incident (the postmortem's "what we will do"): each with an owner and a
due date, added and done as timeline entries (`action_added`, `action_done`); overdue = not done
and past its due time. Numbered 1, 2, ... per incident."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan.errors import said
from opsplan.incidents import records
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.records import event, row_or_fail
from opsplan.incidents.tables import TimelineRow

ADDED, DONE = "action_added", "action_done"


def fold(entries: list[dict[str, Any]], incident_id: int) -> list[dict[str, Any]]:
    """Timeline entries (oldest first) -> the incident's actions as they stand."""
    actions: dict[int, dict[str, Any]] = {}
    for entry in entries:
        data = entry["data"]
        if entry["kind"] == ADDED:
            actions[data["number"]] = {"incident": incident_id, "number": data["number"], "text": data["text"],
                                       "owner": data["owner"], "due": data["due"], "added_by": entry["actor"],
                                       "added_at": entry["at"], "done_at": None, "done_by": None, "note": ""}
        elif entry["kind"] == DONE and data["number"] in actions:
            actions[data["number"]].update(done_at=entry["at"], done_by=entry["actor"], note=data.get("note", ""))
    return [actions[n] for n in sorted(actions)]


def add(session: Session, incident_id: int, text: str, owner: str, due: float, *, by: str, now: float) -> int:
    if not text.strip():
        raise said(IncidentError, "incident.error.empty_action")
    if not owner.strip():
        raise said(IncidentError, "incident.error.no_owner")
    row_or_fail(session, incident_id)
    number = len(of(session, incident_id)) + 1
    event(session, incident_id, ADDED, by, now, number=number, text=text, owner=owner, due=due)
    return number


def done(session: Session, incident_id: int, number: int, *, by: str, now: float, note: str = "") -> None:
    found = {a["number"]: a for a in of(session, incident_id)}
    if number not in found:
        raise said(IncidentError, "incident.error.unknown_action", id=incident_id, number=number)
    if found[number]["done_at"] is not None:
        raise said(IncidentError, "incident.error.action_done", id=incident_id, number=number)
    event(session, incident_id, DONE, by, now, number=number, note=note)


def of(session: Session, incident_id: int) -> list[dict[str, Any]]:
    row_or_fail(session, incident_id)
    return fold(records.timeline(session, incident_id), incident_id)


def every(session: Session) -> list[dict[str, Any]]:
    """The actions of every incident (one indexed query on the timeline's kind)."""
    rows = session.execute(select(TimelineRow).where(TimelineRow.kind.in_((ADDED, DONE)))
                           .order_by(TimelineRow.id)).scalars()
    by_incident: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_incident.setdefault(r.incident_id, []).append({"kind": r.kind, "actor": r.actor, "at": r.at,
                                                          "data": json.loads(r.data)})
    return [a for iid in sorted(by_incident) for a in fold(by_incident[iid], iid)]


def overdue(actions: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    return [a for a in actions if a["done_at"] is None and a["due"] < now]


def parse_due(text: str, timezone: str) -> float:
    """A due date as a person types it: YYYY-MM-DD (the end of that day in the plan's timezone) or
    YYYY-MM-DDTHH:MM; else a one-line error."""
    from datetime import datetime, time

    from opsplan import format as fmt

    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d")
            return datetime.combine(day.date(), time(23, 59, 59), fmt.zone(timezone)).timestamp()
        return datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=fmt.zone(timezone)).timestamp()
    except ValueError:
        raise said(IncidentError, "incident.error.bad_due", value=text) from None
