"""The overview's open incidents (seed §5): severity, title, where it stands, and its two deadlines
with whether each is met, missed or still running, so "what is late" reads at a glance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from opsplan import format as fmt
from opsplan.i18n import t
from opsplan.incidents.records import OPEN, as_dict
from opsplan.incidents.tables import IncidentRow
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

SHOWN = 50  # the overview is a glance; `opsplan incident list` has them all
SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}
SEVERITY_KEYS = {"critical": "incident.severity.critical", "major": "incident.severity.major",
                 "minor": "incident.severity.minor"}
STATUS_KEYS = {"triggered": "incident.status.triggered", "acknowledged": "incident.status.acknowledged"}


def open_incidents(plan: Plan, state_db: StateDB | None, lang: str, now: float) -> list[dict[str, Any]] | None:
    """None when there is no state DB to read (the page then says it cannot tell)."""
    if state_db is None:
        return None
    with state_db.session() as session:
        rows = [as_dict(row, plan) for row in session.scalars(select(IncidentRow).where(IncidentRow.status.in_(OPEN)))]
    rows.sort(key=lambda r: (SEVERITY_ORDER.get(r["severity"], 9), r["opened_at"]))
    tz = plan.timezone
    shown = []
    for row in rows[:SHOWN]:
        if row["status"] == "stage" and row["stage_name"]:
            status = t("incident.status.stage", lang, stage=row["stage"], name=row["stage_name"][lang])
        else:
            status = t(STATUS_KEYS[row["status"]], lang) if row["status"] in STATUS_KEYS else row["status"]
        shown.append({
            "id": row["id"], "severity": row["severity"], "title": row["title"].get(lang) or row["title"].get("en"),
            "severity_text": t(SEVERITY_KEYS[row["severity"]], lang) if row["severity"] in SEVERITY_KEYS
            else row["severity"],
            "status_text": status,
            "opened_shown": fmt.local_time(row["opened_at"], tz, zone_name=True),
            "ack": deadline_shown(row["ack_due"], row["acknowledged_at"], now, tz),
            "respond": deadline_shown(row["respond_due"], row["responded_at"], now, tz),
        })
    return shown


def deadline_shown(due: float | None, done_at: float | None, now: float, tz: str) -> dict[str, Any]:
    """A deadline as shown: its time, and met / missed / running (late when past and not done)."""
    if due is None:
        return {"shown": None, "state": None}
    if done_at is not None:
        return {"shown": fmt.local_time(due, tz, zone_name=True), "state": "met" if done_at <= due else "missed"}
    return {"shown": fmt.local_time(due, tz, zone_name=True), "state": "late" if now > due else "running"}
