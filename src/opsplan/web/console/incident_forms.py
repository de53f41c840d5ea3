"""What each form of the incident pages does: the same steps as `opsplan incident ...` (the lifecycle,
the checklist, the stakeholder notice, follow-up actions, the final postmortem), taken as the
logged-in user. A form's bad value or a step out of order is an IncidentError worded in the
catalogue, which the page shows in its reader's language; every step done is audited by the caller
with the details `apply` returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opsplan.errors import said
from opsplan.incidents import actions as incident_actions
from opsplan.incidents import checklist, postmortem, records, stakeholders
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.tables import IncidentRow
from opsplan.plan.models import Text
from opsplan.store.state import MAX_ROW_ID

MAX_FIELD = 4000  # a note, a reason, a root cause: long enough for a paragraph, not a dump
# The forms of the postmortem page (the page they return to).
POSTMORTEM_ACTIONS = frozenset({"fields", "action_add", "action_done", "final"})
# A final postmortem refused for want of these fields: what the page says (its boxes' names).
MISSING_FIELDS = {("root_cause", "fix"): "console.incidents.pm_needs_both",
                  ("root_cause",): "console.incidents.pm_needs_root_cause", ("fix",): "console.incidents.pm_needs_fix"}
# The audit log's action for each form (the same names as the CLI's).
AUDITED = {"ack": "incident.ack", "assign": "incident.assign", "severity": "incident.severity",
           "stage": "incident.stage", "task": "incident.task", "note": "incident.note",
           "resolve": "incident.resolve", "cancel": "incident.cancel", "merge": "incident.merge",
           "close": "incident.close", "fields": "incident.set", "action_add": "incident.action_add",
           "action_done": "incident.action_done", "final": "incident.postmortem_final"}


class IncidentForms:
    """The incident pages' writes on one plan's incidents. `store` gives serve's metrics store (for a
    final postmortem's failed requests; None: unknown), `wake` nudges the notifier after a
    stakeholder notice is queued (None: it sends on its next pass)."""

    def __init__(self, incidents: Incidents, *, store: Callable[[], Any] | None = None,
                 wake: Callable[[], None] | None = None) -> None:
        self.incidents = incidents
        self.plan = incidents.plan
        self.store = store or (lambda: None)
        self.wake = wake

    def exists(self, incident_id: int) -> bool:
        with self.incidents.db.session() as session:
            return session.get(IncidentRow, incident_id) is not None

    def open(self, form: Mapping[str, str], *, by: str, now: float) -> tuple[int, dict[str, Any]]:
        severity = _text(form, "severity").lower()
        title = _text(form, "title")
        description = _text(form, "description")
        incident_id = self.incidents.open(severity, Text(ko=title, en=title), by=by, now=now, description=description)
        return incident_id, {"severity": severity, "title": title}

    def apply(self, action: str, incident_id: int, form: Mapping[str, str], *, by: str, now: float) -> dict[str, Any]:
        """Take the step `action` on the incident; the details the audit log gets."""
        step = getattr(self, f"_{action}")
        details: dict[str, Any] = step(incident_id, form, by, now)
        return details

    # --- the lifecycle ---------------------------------------------------------------------------

    def _ack(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        self.incidents.acknowledge(incident_id, by=by, now=now)
        return {}

    def _assign(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        person = _text(form, "person")
        self.incidents.assign(incident_id, person, by=by, now=now)
        return {"person": person}

    def _severity(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        severity, reason = _text(form, "severity").lower(), _text(form, "reason")
        self.incidents.change_severity(incident_id, severity, by=by, now=now, reason=reason)
        return {"severity": severity, "reason": reason}

    def _stage(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        stage = self._stage_number(_text(form, "stage"))
        self.incidents.enter_stage(incident_id, stage, by=by, now=now)
        return {"stage": stage}

    def _note(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        text = _text(form, "text")
        self.incidents.note(incident_id, text, by=by, now=now)
        return {"text": text}

    def _resolve(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        note = _text(form, "note")
        self.incidents.resolve(incident_id, by=by, now=now, note=note)
        return {"note": note}

    def _cancel(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        reason = _text(form, "reason")
        self.incidents.cancel(incident_id, by=by, now=now, reason=reason)
        return {"reason": reason}

    def _merge(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        into = _text(form, "into").lstrip("#")
        if not is_id(into):
            raise said(IncidentError, "incident.error.not_found", id=into or "-")
        self.incidents.merge(incident_id, int(into), by=by, now=now)
        return {"into": int(into)}

    def _close(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        self.incidents.close(incident_id, by=by, now=now)
        return {}

    # --- the checklist and the postmortem --------------------------------------------------------

    def _task(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        ref = checklist.find_task(self.plan, self._stage_number(_text(form, "stage")), _text(form, "task"))
        note, evidence = _text(form, "note"), _text(form, "evidence")
        notified = False
        with self.incidents.db.session() as session:
            checklist.check_task(session, incident_id, ref, by=by, now=now, note=note, evidence=evidence)
            if (ref.stage, ref.task) == checklist.NOTIFY_TASK:  # "notify stakeholders" sends the status
                impact = checklist.fields(records.timeline(session, incident_id)).get("impact", "")
                stakeholders.queue_notice(session, self.plan, records.row_or_fail(session, incident_id),
                                          impact=impact, by=by, now=now)
                notified = True
        if notified and self.wake is not None:
            self.wake()
        return {"stage": ref.stage, "task": ref.task, "note": note, "evidence": evidence}

    def _fields(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        # Only the fields whose text changed: an untouched box is not "set" again on the timeline.
        with self.incidents.db.session() as session:
            current = checklist.fields(records.timeline(session, incident_id))
            values = {k: _text(form, k) for k in checklist.FIELD_NAMES
                      if k in form and _text(form, k) != current.get(k, "")}
            if not values:  # said in the page's words (the lifecycle's own names the CLI's options)
                raise said(IncidentError, "incident.error.fields_unchanged")
            checklist.set_fields(session, incident_id, values, by=by, now=now)
        return values

    def _action_add(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        text, owner = _text(form, "text"), _text(form, "owner")
        due = incident_actions.parse_due(_text(form, "due"), self.plan.timezone)
        with self.incidents.db.session() as session:
            number = incident_actions.add(session, incident_id, text, owner, due, by=by, now=now)
        return {"number": number, "owner": owner, "due": _text(form, "due")}

    def _action_done(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        number = _text(form, "number")
        if not number.isdigit():
            raise said(IncidentError, "incident.error.unknown_action", id=incident_id, number=number or "-")
        with self.incidents.db.session() as session:
            incident_actions.done(session, incident_id, int(number), by=by, now=now, note=_text(form, "note"))
        return {"number": int(number)}

    def _final(self, incident_id: int, form: Mapping[str, str], by: str, now: float) -> dict[str, Any]:
        failed = postmortem.failed_requests(self.store(), self.incidents.get(incident_id), now)
        try:
            with self.incidents.db.session() as session:
                postmortem.make_final(session, self.plan, incident_id, by=by, now=now, requests_failed=failed)
        except postmortem.MissingFields as exc:  # the CLI's words name its flags: here, the page's boxes
            raise said(IncidentError, MISSING_FIELDS[exc.missing], id=incident_id) from None
        return {}

    def _stage_number(self, text: str) -> int:
        if not text.isdigit():
            raise said(IncidentError, "incident.error.unknown_stage", stage=text or "-",
                       count=len(self.plan.incidents.stages))
        return int(text)


def is_id(text: str) -> bool:
    """Whether `text` can name an incident: digits, within what the database's column holds (a
    larger number would fail in the query, not say "no such incident")."""
    return text.isdigit() and 1 <= int(text) <= MAX_ROW_ID


def _text(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "")
    if "\x00" in value:  # PostgreSQL refuses it on write: one line here, as the API's bodies say
        raise said(IncidentError, "incident.error.nul")
    return value.strip()[:MAX_FIELD]
