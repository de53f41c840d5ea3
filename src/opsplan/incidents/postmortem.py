"""The postmortem of an incident: the facts drawn from its row, timeline, linked alerts, fields and
actions (`facts`), a draft rendered from them on request, and the final one, whose facts are frozen
in a `postmortem_final` timeline entry so later edits do not change what was signed off. Closing
an incident of a severity the plan names (`incidents.follow_up.final_postmortem_for`) needs it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan.errors import said
from opsplan.incidents import actions as incident_actions
from opsplan.incidents import checklist, records
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.records import event, row_or_fail
from opsplan.incidents.tables import IncidentRow, TimelineRow
from opsplan.plan.models import Plan

FINAL = "postmortem_final"


class MissingFields(IncidentError):
    """A final postmortem refused for want of its root cause or fix; `missing` names which, so the
    console can point at its own boxes where the CLI names its flags."""

    missing: tuple[str, ...] = ()


def facts(session: Session, plan: Plan, incident_id: int, *, now: float,
          requests_failed: float | None = None) -> dict[str, Any]:
    """Everything a postmortem says, as plain JSON-able values (UTC seconds)."""
    row = row_or_fail(session, incident_id)
    shown = records.as_dict(row, plan)
    timeline = records.timeline(session, incident_id)
    alerts = records.linked_alerts(session, incident_id)
    fields = checklist.fields(timeline)
    started = min([a["started_at"] for a in alerts] + [row.opened_at])
    ended = row.resolved_at
    services = fields.get("services") or ", ".join(sorted({a["labels"]["service"] for a in alerts
                                                           if "service" in a["labels"]}))
    actions = incident_actions.fold(timeline, incident_id)
    return {
        "incident": shown, "started_at": started, "detected_at": row.opened_at,
        "duration": (ended - started) if ended is not None else None,
        "time_to_acknowledge": (row.ack_at - row.opened_at) if row.ack_at is not None else None,
        "time_to_resolve": (ended - row.opened_at) if ended is not None else None,
        "services": services, "impact": fields.get("impact", ""), "root_cause": fields.get("root_cause", ""),
        "fix": fields.get("fix", ""), "requests_failed": requests_failed,
        "alerts": [{"alert": a["alert"], "started_at": a["started_at"], "resolved_at": a["resolved_at"]}
                   for a in alerts],
        "checklist": checklist.checklist(plan, timeline),
        "actions": actions, "overdue": [a["number"] for a in incident_actions.overdue(actions, now)],
        "timeline": [e for e in timeline if e["kind"] != FINAL], "written_at": now,
    }


def final_of(session: Session, incident_id: int) -> dict[str, Any] | None:
    """The frozen facts of the incident's final postmortem, if there is one (the latest)."""
    entry = session.execute(select(TimelineRow).where(TimelineRow.incident_id == incident_id,
                                                      TimelineRow.kind == FINAL)
                            .order_by(TimelineRow.id.desc()).limit(1)).scalar_one_or_none()
    if entry is None:
        return None
    found: dict[str, Any] = json.loads(entry.data)["facts"]
    found["final_by"], found["final_at"] = entry.actor, entry.at
    return found


def make_final(session: Session, plan: Plan, incident_id: int, *, by: str, now: float,
               requests_failed: float | None = None) -> dict[str, Any]:
    """Freeze the postmortem: only for an incident that is over (resolved or closed); root cause and
    fix must be written (a final postmortem without them says nothing)."""
    row = row_or_fail(session, incident_id)
    if row.status not in ("resolved", "closed"):
        raise said(IncidentError, "incident.error.postmortem_open", id=incident_id)
    found = facts(session, plan, incident_id, now=now, requests_failed=requests_failed)
    missing = [name for name in ("root_cause", "fix") if not found[name].strip()]
    if missing:
        error = said(MissingFields, "incident.error.postmortem_fields", id=incident_id,
                     fields=", ".join(f"--{m.replace('_', '-')}" for m in missing))
        error.missing = tuple(missing)
        raise error
    event(session, incident_id, FINAL, by, now, facts=found)
    found["final_by"], found["final_at"] = by, now
    return found


def refuse_close_without_final(plan: Plan, session: Session, row: IncidentRow) -> None:
    """Closing a critical or major incident (the plan's list) without a final postmortem: one line."""
    if row.severity in plan.incidents.follow_up.final_postmortem_for and final_of(session, row.id) is None:
        raise said(IncidentError, "incident.error.needs_postmortem", id=row.id, severity=row.severity.capitalize())


def failed_requests(store: Any, incident: dict[str, Any], now: float) -> float | None:
    """The postmortem's "requests failed" for an incident (`Incidents.get`): over the services it
    names (its `services` field, else its alerts' `service` labels), from its first alert to its
    resolution (or now), read from the metrics store; None without a store or without the series."""
    from opsplan.incidents.sla import requests_failed

    named = checklist.fields(incident["timeline"]).get("services", "")
    services = [s.strip() for s in named.split(",") if s.strip()] or sorted(
        {a["labels"]["service"] for a in incident["alerts"] if "service" in a["labels"]})
    start = min([a["started_at"] for a in incident["alerts"]] + [incident["opened_at"]])
    end = incident["resolved_at"] if incident["resolved_at"] is not None else now
    return requests_failed(store, services, start, end)
