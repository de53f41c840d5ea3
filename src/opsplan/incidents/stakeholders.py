"""The "notify stakeholders" task: the incident's status (severity, impact, next update time) sent
to the plan's stakeholder channels through the notification outbox, like any alert notice. The rows
are written in the same transaction as the task's check, so a check without its notice (or the
reverse) cannot happen; `opsplan serve`'s notifier sends them (or `opsplan notify` when it is not
running)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from opsplan import format as fmt
from opsplan.errors import said
from opsplan.i18n import t
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.records import event, title_of
from opsplan.incidents.tables import IncidentRow
from opsplan.notify import outbox
from opsplan.notify.outbox import OutboxRow
from opsplan.plan.models import Plan

NOTICE_KIND = "stakeholder_notice"
_SEVERITY_KEY = {"critical": "incident.severity.critical", "major": "incident.severity.major",
                 "minor": "incident.severity.minor"}
# An alert-like severity for the outbox row (its notify type and its routing words).
_NOTIFY_TYPE = {"critical": "failure", "major": "warning", "minor": "info"}


def check_channels(plan: Plan) -> list[str]:
    """The stakeholder channel names; none, or one the plan does not define, is a one-line error."""
    names = plan.incidents.follow_up.stakeholders
    if not names:
        raise said(IncidentError, "incident.error.no_stakeholders")
    known = {c.name for c in plan.notifications.channels}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise said(IncidentError, "incident.error.unknown_stakeholder", channel=", ".join(unknown),
                   known=", ".join(sorted(known)) or "-")
    return names


def message(plan: Plan, row: IncidentRow, impact: str, next_update: float, lang: str) -> tuple[str, str]:
    title = title_of(row)
    when = fmt.local_time(next_update, plan.timezone, zone_name=lang == "ko")
    severity = t(_SEVERITY_KEY[row.severity], lang) if row.severity in _SEVERITY_KEY else row.severity
    head = t("incident.notice.title", lang, id=row.id, title=title.get(lang, title.get("en", "")))
    body = t("incident.notice.body", lang, severity=severity, impact=impact or t("incident.notice.no_impact", lang),
             time=when)
    return head, body


def queue_notice(session: Session, plan: Plan, row: IncidentRow, *, impact: str, by: str, now: float) -> dict[str, Any]:
    """Write the status notice to the outbox for each stakeholder channel (both languages, the plan's
    first) and a timeline entry saying so; returns what was sent."""
    names = check_channels(plan)
    next_update = now + plan.incidents.follow_up.update_every
    first, other = plan.language, ("en" if plan.language == "ko" else "ko")
    title, body = message(plan, row, impact, next_update, first)
    other_title, other_body = message(plan, row, impact, next_update, other)
    text = f"{body}\n\n{other_title}\n{other_body}"
    key = hashlib.sha256(f"incident|{row.id}|status|{now:.3f}".encode()).hexdigest()
    rows = [OutboxRow(notice_key=key, channel=name, kind="incident", fingerprint=f"incident:{row.id}",
                      alert=f"incident {row.id}", severity=row.severity, title=title, body=text,
                      notify_type=_NOTIFY_TYPE.get(row.severity, "info"), created_at=now, first_due_at=now,
                      next_try_at=now) for name in names]
    outbox.add_new(session, rows)
    event(session, row.id, NOTICE_KIND, by, now, channels=names, next_update=next_update, impact=impact)
    return {"channels": names, "next_update": next_update, "title": title, "body": text}
