"""An incident in words, in Korean or English: its severity, where it stands, and each entry of its
timeline. One place for the CLI (`opsplan incident show`), the postmortem and the console's incident
pages, so a step reads the same wherever a person sees it. The on-call kinds (paged, held ...) are
described here too: they are entries of the same timeline, written by opsplan.oncall."""

from __future__ import annotations

from typing import Any

from opsplan import format as fmt
from opsplan.i18n import t
from opsplan.plan.models import Plan

# Literal catalogue keys, so the catalogue test sees them.
SEVERITY_KEY = {"critical": "incident.severity.critical", "major": "incident.severity.major",
                "minor": "incident.severity.minor"}
STATUS_KEY = {"triggered": "incident.status.triggered", "acknowledged": "incident.status.acknowledged",
              "resolved": "incident.status.resolved", "closed": "incident.status.closed",
              "merged": "incident.status.merged", "cancelled": "incident.status.cancelled"}
DEADLINE_KEY = {"ack_missed": "incident.deadline.ack", "respond_missed": "incident.deadline.respond"}
FIELD_KEY = {"impact": "incident.field.impact", "services": "incident.field.services",
             "root_cause": "incident.field.root_cause", "fix": "incident.field.fix"}
EVENT_KEY = {"opened": "incident.event.opened", "alert_fired": "incident.event.alert_fired",
             "alert_resolved": "incident.event.alert_resolved", "acknowledged": "incident.event.acknowledged",
             "stage": "incident.event.stage", "note": "incident.event.note", "resolved": "incident.event.resolved",
             "closed": "incident.event.closed", "cancelled": "incident.event.cancelled",
             "merged": "incident.event.merged", "merged_from": "incident.event.merged_from",
             "reopened": "incident.event.reopened", "severity": "incident.event.severity",
             "ack_missed": "incident.event.breach", "respond_missed": "incident.event.breach",
             "assigned": "incident.event.assigned"}
# The timeline kinds written by opsplan.oncall.
ONCALL_EVENT_KEY = {"paged": "oncall.event.paged", "page_queued": "oncall.event.page_queued",
                    "repaged": "oncall.event.repaged", "paging_held": "oncall.event.paging_held",
                    "paging_stopped": "oncall.event.paging_stopped", "nobody_to_page": "oncall.event.nobody_to_page",
                    "snoozed": "oncall.event.snoozed"}


def when(ts: float | None, plan: Plan, lang: str) -> str:
    """A time in the plan's timezone; the zone's name on Korean text (KOREAN.md rule 8)."""
    return fmt.local_time(ts, plan.timezone, zone_name=lang == "ko") if ts is not None else "-"


def severity_text(name: str, lang: str) -> str:
    return t(SEVERITY_KEY[name], lang) if name in SEVERITY_KEY else name


def status_text(incident: dict[str, Any], lang: str) -> str:
    """Where an incident (as `records.as_dict` gives it) stands: `2단계 원인 분석`, `확인`."""
    if incident["status"] == "stage" and incident["stage_name"]:
        return t("incident.status.stage", lang, stage=incident["stage"], name=incident["stage_name"][lang])
    if incident["status"] not in STATUS_KEY:
        return str(incident["status"])
    return t(STATUS_KEY[incident["status"]], lang)


def entry_text(entry: dict[str, Any], plan: Plan, lang: str) -> str:
    """One timeline entry (`records.timeline`) in `lang`; an unknown kind as itself."""
    kind = entry["kind"]
    if kind in EVENT_KEY:
        return _core_text(entry, plan, lang)
    if kind == "evidence":  # its parts are worded by incidents/evidence_text.py, under this line
        return t("incident.event.evidence", lang)
    return (_follow_up_text(entry, plan, lang) or _oncall_text(entry, plan, lang) or _check_text(entry, lang)
            or _runbook_text(entry, lang) or str(kind))


def _runbook_text(entry: dict[str, Any], lang: str) -> str | None:
    """A restore or drill run while the incident was open (incidents/runbook_links.py)."""
    from opsplan.runbooks.names import kind_text, status_text

    data = entry["data"]
    run = data.get("run", "?")
    if entry["kind"] == "runbook_started":
        key = "incident.event.runbook_dry_run" if data.get("dry_run") else "incident.event.runbook_started"
        return t(key, lang, id=run, kind=kind_text(str(data.get("runbook", "")), lang))
    if entry["kind"] == "runbook_finished":
        return t("incident.event.runbook_finished", lang, id=run, kind=kind_text(str(data.get("runbook", "")), lang),
                 status=status_text(str(data.get("status", "")), lang))
    return None


# What a periodic check run writes on the incident its failed item opened (checks/runs.py).
_CHECK_KEY = {"check_failed": "checks.incident.event_failed", "check_passed": "checks.incident.event_passed"}


def _check_text(entry: dict[str, Any], lang: str) -> str | None:
    if entry["kind"] not in _CHECK_KEY:
        return None
    data = entry["data"]
    name = data.get("name") or {}
    return t(_CHECK_KEY[entry["kind"]], lang, id=data.get("run", "?"),
             name=name.get(lang) or data.get("item", "-") if isinstance(name, dict) else str(name))


def _core_text(entry: dict[str, Any], plan: Plan, lang: str) -> str:
    kind, data = entry["kind"], entry["data"]
    values: dict[str, Any] = {}
    if kind in ("opened", "severity"):
        values["severity"] = severity_text(data.get("severity", ""), lang)
        if kind == "severity":
            values["previous"] = severity_text(data.get("previous", ""), lang)
    elif kind in ("alert_fired", "alert_resolved", "reopened"):
        values["alert"] = data.get("alert", "")
        if kind == "alert_fired":
            subject = data.get("subject_ko") if lang == "ko" else data.get("subject")
            values["subject"] = subject or "-"
    elif kind == "stage":
        stages = plan.incidents.stages
        stage = data.get("stage", 0)
        values["stage"] = stage
        values["name"] = stages[stage - 1].name.get(lang) if 1 <= stage <= len(stages) else "-"
    elif kind == "note":
        values["text"] = data.get("text", "")
    elif kind == "resolved":
        values["text"] = data.get("note") or "-"
    elif kind == "cancelled":
        values["reason"] = data.get("reason", "")
    elif kind == "assigned":
        values["person"] = data.get("person", "")
    elif kind == "merged":
        values["id"] = data.get("into", "")
    elif kind == "merged_from":
        values["id"] = data.get("incident", "")
    elif kind in ("ack_missed", "respond_missed"):
        values["deadline"] = t(DEADLINE_KEY[kind], lang)
        values["due"] = when(data.get("due"), plan, lang)
    return t(EVENT_KEY[kind], lang, **values)


def _follow_up_text(entry: dict[str, Any], plan: Plan, lang: str) -> str | None:
    """Checklists, notices, actions and postmortems (issue 13 items 4, 6); None for another kind."""
    data, kind = entry["data"], entry["kind"]
    if kind == "task_done":
        stages = plan.incidents.stages
        s, n = data.get("stage", 0), data.get("task", 0)
        name = stages[s - 1].tasks[n - 1].get(lang) if 1 <= s <= len(stages) and 1 <= n <= len(stages[s - 1].tasks) \
            else "-"
        text = t("incident.event.task_done", lang, stage=s, task=n, name=name, text=data.get("note") or "-")
        return text + (f" [{data['evidence']}]" if data.get("evidence") else "")
    if kind == "fields":
        names = ", ".join(t(FIELD_KEY[k], lang) for k in sorted(data) if k in FIELD_KEY)
        return t("incident.event.fields", lang, names=names)
    if kind == "stakeholder_notice":
        return t("incident.event.stakeholder_notice", lang, channel=", ".join(data.get("channels", [])))
    if kind == "action_added":
        return t("incident.event.action_added", lang, number=data.get("number", ""), text=data.get("text", ""),
                 owner=data.get("owner", ""))
    if kind == "action_done":
        return t("incident.event.action_done", lang, number=data.get("number", ""))
    if kind == "postmortem_final":
        return t("incident.event.postmortem_final", lang)
    return None


def _oncall_text(entry: dict[str, Any], plan: Plan, lang: str) -> str | None:
    """The on-call kinds (opsplan.oncall); None for another kind. Their times always name the zone."""
    kind, data = entry["kind"], entry["data"]
    if kind not in ONCALL_EVENT_KEY:
        return None

    def at(ts: float | None) -> str:
        return fmt.local_time(ts, plan.timezone, zone_name=True) if ts is not None else "-"

    values: dict[str, Any] = {"name": data.get("person") or data.get("to") or "-"}
    if kind == "paged":
        values.update(step=data.get("step", 1), round=data.get("round", 1))
    elif kind == "page_queued":
        values["time"] = at(data.get("not_before"))
    elif kind in ("paging_held", "snoozed"):
        values["until"] = at(data.get("until"))
    elif kind == "paging_stopped":
        values["count"] = data.get("withdrawn", 0)
    return t(ONCALL_EVENT_KEY[kind], lang, **values)
