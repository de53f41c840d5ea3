"""The incident pages' content: incidents as `Incidents` keeps them, put in words for a page in the
reader's language (incidents/describe.py, the same words as `opsplan incident show`), times in the
plan's timezone, and each deadline marked met, done late, running or overdue."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from opsplan import format as fmt
from opsplan.checks.report.evidence_chart import evidence_svg
from opsplan.i18n import t
from opsplan.incidents import actions as incident_actions
from opsplan.incidents import checklist
from opsplan.incidents.describe import entry_text, severity_text, status_text
from opsplan.incidents.evidence_text import evidence_lines
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.records import OPEN
from opsplan.plan.models import Plan
from opsplan.web.status_incidents import SEVERITY_ORDER, deadline_shown

LISTED = 200  # the page's table; `opsplan incident list --all --json` has every one
# An alert's own severity, as the alerts pages word it (literal keys for the catalogue test).
_ALERT_SEVERITY = {"critical": "alerts.severity.critical", "warning": "alerts.severity.warning"}


def _when(ts: float | None, plan: Plan) -> str:
    return fmt.local_time(ts, plan.timezone, zone_name=True) if ts is not None else "–"


def summary(incident: dict[str, Any], plan: Plan, lang: str, now: float) -> dict[str, Any]:
    """What the list and the detail's header show of an incident."""
    return {
        "id": incident["id"], "severity": incident["severity"], "status": incident["status"],
        "open": incident["status"] in OPEN, "title": incident["title"].get(lang) or incident["title"].get("en", ""),
        "description": incident["description"], "severity_text": severity_text(incident["severity"], lang),
        "status_text": status_text(incident, lang), "assignee": incident["assignee"],
        "acknowledged_by": incident["acknowledged_by"], "opened_by": incident["opened_by"],
        "opened_shown": _when(incident["opened_at"], plan),
        "counted_from": _when(incident["deadlines_from"], plan)
        if incident["deadlines_from"] != incident["opened_at"] else None,
        "resolved_shown": _when(incident["resolved_at"], plan) if incident["resolved_at"] is not None else None,
        "merged_into": incident["merged_into"],
        "ack": deadline_shown(incident["ack_due"], _done(incident, "acknowledged_at"), now, plan.timezone),
        "respond": deadline_shown(incident["respond_due"], _done(incident, "responded_at"), now, plan.timezone),
    }


def _done(incident: dict[str, Any], key: str) -> float | None:
    # Resolving answers both deadlines when nothing had before (lifecycle._breaches says the same).
    return incident[key] if incident[key] is not None else incident["resolved_at"]


def listed(incidents: Incidents, lang: str, now: float, *, include_done: bool) -> list[dict[str, Any]]:
    """Open incidents, most severe first, then oldest first; with `include_done`, the ended ones after
    them, newest first."""
    # The open ones asked for apart: an old one still open stays listed however many ended since.
    still = sorted(incidents.list(limit=LISTED),
                   key=lambda i: (SEVERITY_ORDER.get(i["severity"], 9), i["opened_at"]))
    ended = [i for i in incidents.list(include_done=True, limit=LISTED) if i["status"] not in OPEN] \
        if include_done else []
    return [summary(i, incidents.plan, lang, now) for i in [*still, *ended]]


def detail(incidents: Incidents, incident_id: int, lang: str, now: float) -> dict[str, Any]:
    """The header, the timeline, the linked alerts, the checklist and the follow-up actions."""
    plan = incidents.plan
    found = incidents.get(incident_id)
    timeline = found["timeline"]
    shown = summary(found, plan, lang, now)
    fields = checklist.fields(timeline)
    actions = incident_actions.fold(timeline, incident_id)
    late = {a["number"] for a in incident_actions.overdue(actions, now)}
    return {
        "incident": shown,
        "timeline": [{"at": _when(e["at"], plan), "text": entry_text(e, plan, lang), "actor": e["actor"],
                      "kind": e["kind"]} for e in timeline],
        "alerts": [{"alert": a["alert"], "severity": a["severity"], "fingerprint": a["fingerprint"],
                    "severity_text": t(_ALERT_SEVERITY[a["severity"]], lang) if a["severity"] in _ALERT_SEVERITY
                    else a["severity"],
                    "labels": ", ".join(f"{k}={v}" for k, v in sorted(a["labels"].items())),
                    "started": _when(a["started_at"], plan),
                    "resolved": _when(a["resolved_at"], plan) if a["resolved_at"] is not None else None}
                   for a in found["alerts"]],
        "stages": _stages(plan, timeline, found, lang),
        "fields": {k: fields.get(k, "") for k in checklist.FIELD_NAMES},
        "evidence": _evidence(timeline, plan, lang),
        "actions": [{"number": a["number"], "text": a["text"], "owner": a["owner"], "due": _when(a["due"], plan),
                     "done": _when(a["done_at"], plan) if a["done_at"] is not None else None,
                     "done_by": a["done_by"], "overdue": a["number"] in late} for a in actions],
    }


def _evidence(timeline: list[dict[str, Any]], plan: Plan, lang: str) -> dict[str, Any] | None:
    """What was captured when the incident opened: its lines and its chart (SVG built from escaped
    text by the check reports' helper, so marked safe here); None when nothing was."""
    found = next((e["data"] for e in timeline if e["kind"] == "evidence"), None)
    if found is None:
        return None
    lines = [line[2:] if line.startswith("  ") else line for line in evidence_lines(found, plan, lang)]
    return {"lines": lines, "chart": Markup(evidence_svg(found, lang, plan.timezone))}


def _stages(plan: Plan, timeline: list[dict[str, Any]], found: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """The plan's stages with their tasks, each task with its check (who, when, note, evidence)."""
    current = found["stage"] if found["status"] == "stage" else None
    stages: list[dict[str, Any]] = [
        {"number": n, "name": stage.name.get(lang), "current": n == current, "tasks": []}
        for n, stage in enumerate(plan.incidents.stages, start=1)]
    for task in checklist.checklist(plan, timeline):
        done = task["done"]
        stages[task["stage"] - 1]["tasks"].append({
            "number": task["task"], "name": task["name"][lang], "required": task["required"],
            "done": None if done is None else {"by": done["by"], "at": _when(done["at"], plan), "note": done["note"],
                                               "evidence": done["evidence"],
                                               "link": _linkable(done["evidence"])}})
    return stages


def merge_targets(incidents: Incidents, incident_id: int, lang: str) -> list[dict[str, Any]]:
    """The incidents this one may be merged into: open or resolved, not itself."""
    resolved = [i for i in incidents.list(include_done=True, limit=LISTED) if i["status"] == "resolved"]
    found = sorted([*incidents.list(limit=LISTED), *resolved], key=lambda i: -i["id"])
    return [{"id": i["id"], "title": i["title"].get(lang) or i["title"].get("en", "")} for i in found
            if i["id"] != incident_id]


def _linkable(evidence: str) -> bool:
    """Evidence that is a web link or a page of this server (not `//host`, `/\\host` which browsers
    read as `//host`, nor `javascript:`)."""
    return evidence.startswith(("http://", "https://")) or (
        evidence.startswith("/") and not evidence.startswith(("//", "/\\")))
