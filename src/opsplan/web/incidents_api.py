"""/api/v1/incidents...: the incidents over HTTP, the same operations and errors as `opsplan incident`
and the console's incident pages (whose write path, `IncidentForms`, the writes here go through).

Reads are open, as the alerts' are. Writes pass the bearer-token or console-session check first
(web/auth.py), then their body is read (web/request_body.py): an anonymous write is 401 before its
body is parsed. The actor is the token's or session's user; `by` counts only with the shared token.
An incident error is one line in `detail`, in `?lang=` or the plan's language: 404 for an unknown
incident or action, 409 for a step the incident's state refuses, 422 for bad input. Every write is
audited with `via: api`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from opsplan import audit
from opsplan import format as fmt
from opsplan.errors import in_language, said
from opsplan.incidents import actions as incident_actions
from opsplan.incidents import checklist, postmortem, postmortem_render
from opsplan.incidents.describe import entry_text
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.figures import figures
from opsplan.incidents.sla import month_range, report
from opsplan.web.auth import SHARED
from opsplan.web.console.incident_forms import AUDITED, IncidentForms
from opsplan.web.incident_api_docs import BAD_MONTH, LISTED, OPENED, POSTMORTEM, REFUSED_READ, REFUSED_STEP
from opsplan.web.incident_bodies import (
    ActionBody,
    ActionDoneBody,
    AssignBody,
    CancelBody,
    FieldsBody,
    MergeBody,
    NoteBody,
    OpenBody,
    ResolveBody,
    SeverityBody,
    SnoozeBody,
    StageBody,
    StepBody,
    TaskBody,
)
from opsplan.web.incident_evidence import postmortem_evidence
from opsplan.web.incident_wording import reworded
from opsplan.web.openapi_docs import json_body
from opsplan.web.request_body import write_body

JsonBody = Annotated[Any, Depends(write_body)]
_LANG_HELP = "the language of `detail` and of texts (default: the plan's)"
Lang = Annotated[Literal["ko", "en"] | None, Query(description=_LANG_HELP)]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# A write's path and query are read as text and checked in the route, after the auth check and with
# the same one-line `detail` as its body: FastAPI's own check would answer a list of errors (and
# before the caller is known).
_NUMBER = r"^[1-9][0-9]{0,9}$"
WriteId = Annotated[str, Path(description="the incident's id", json_schema_extra={"pattern": _NUMBER})]
WriteLang = Annotated[str | None, Query(description=_LANG_HELP, json_schema_extra={"enum": ["ko", "en"]})]
Status = Annotated[Literal["open", "all"], Query(description="open, or all (resolved, closed, merged, cancelled too)")]
# A month is checked in the route (`month_of`): one line in `detail`, not FastAPI's list with the pattern.
_MONTH = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"
Month = Annotated[str | None, Query(max_length=40, description="YYYY-MM (default: this month)",
                                    json_schema_extra={"pattern": _MONTH})]

# Why a step was refused, by catalogue key: the incident (or its action) is not there, or its state
# refuses the step; any other incident error is bad input.
_NOT_FOUND = {"incident.error.not_found", "incident.error.unknown_action"}
_CONFLICT = {"incident.error.is_resolved", "incident.error.is_closed", "incident.error.is_merged",
             "incident.error.is_cancelled", "incident.error.already_acked", "incident.error.close_open",
             "incident.error.same_stage", "incident.error.same_severity", "incident.error.task_required",
             "incident.error.needs_postmortem", "incident.error.postmortem_open", "incident.error.postmortem_fields",
             "incident.error.action_done", "oncall.error.snooze_not_acked"}

# The steps on one incident: path -> (body, the form step of IncidentForms, may the body be empty).
STEPS: dict[str, tuple[type[BaseModel], str, bool]] = {
    "ack": (StepBody, "ack", True), "assign": (AssignBody, "assign", False),
    "severity": (SeverityBody, "severity", False), "stage": (StageBody, "stage", False),
    "task": (TaskBody, "task", False), "note": (NoteBody, "note", False), "resolve": (ResolveBody, "resolve", True),
    "close": (StepBody, "close", True), "cancel": (CancelBody, "cancel", False), "merge": (MergeBody, "merge", False),
    "fields": (FieldsBody, "fields", False), "postmortem": (StepBody, "final", True),
    "actions": (ActionBody, "action_add", False),
}
_SAYS = {
    "ack": "Acknowledge: someone has it (escalation stops).",
    "assign": "Give the incident an owner (one of the plan's on-call people).",
    "severity": "Re-grade the incident; its unmet deadlines follow.",
    "stage": "Move to a stage of the plan's recovery process (the required tasks before it checked).",
    "task": "Check a task of a stage's checklist; the stakeholder task sends the incident's status.",
    "note": "Add a note to the timeline.",
    "resolve": "Resolve: service is back.",
    "close": "Close a resolved incident (a critical or major one needs its final postmortem).",
    "cancel": "Cancel a false positive.",
    "merge": "Merge into another incident that is the same trouble: its alerts move there.",
    "fields": "Write the impact, the services hit, the root cause and the fix (those given).",
    "postmortem": "Make the postmortem final (a resolved incident with its root cause and fix written).",
    "actions": "Add a follow-up action with its owner and due date (`number` in the answer).",
}


def _validated(model: type[BaseModel], body: Any, *, empty_ok: bool = False) -> Any:
    try:
        return model.model_validate({} if body is None and empty_ok else body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None


def _form(data: BaseModel) -> dict[str, str]:
    """A body as the form IncidentForms reads (text values; a field not given is absent)."""
    return {k: str(v) for k, v in data.model_dump(exclude={"by"}, exclude_none=True).items()}


def _actor(request: Request, named: str | None) -> str:
    """The console session's or user token's user; with the shared token, the name given (else the token)."""
    principal = getattr(request.state, "principal", None)
    user = getattr(principal, "user", None)
    if user and user != SHARED:
        return str(user)
    return named or "api-token"


def incidents_router(forms: IncidentForms, auth: Callable[..., None], clock: Callable[[], float]) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    incidents, plan = forms.incidents, forms.plan
    write = [Depends(auth)]

    def language(lang: str | None) -> str:
        return lang or plan.language

    def refused(exc: IncidentError, lang: str | None, bad_input: int = 422) -> HTTPException:
        key = exc.message_key
        status = 404 if key in _NOT_FOUND else 409 if key in _CONFLICT else bad_input
        # In the API's words: its routes and body fields, not the CLI's commands or the page's boxes.
        return HTTPException(status, " ".join(in_language(reworded(exc, "api"), language(lang)).split()))

    @contextmanager
    def answered(lang: str | None, *, bad_input: int = 422) -> Iterator[None]:
        """An incident error as one line: 404, 409, else `bad_input` (a read's is 400: its 422 is
        FastAPI's own, a list)."""
        try:
            yield
        except IncidentError as exc:
            raise refused(exc, lang, bad_input) from None

    def write_lang(lang: str | None) -> str | None:
        if lang is not None and lang not in ("ko", "en"):
            raise HTTPException(422, "lang: expected ko or en")
        return lang

    def path_number(text: str, lang: str | None, unknown: IncidentError) -> int:
        """A path's id; one that is not a number names no incident (or action) either: 404."""
        if re.fullmatch(_NUMBER, text) and int(text) < 2**31:
            return int(text)
        raise refused(unknown, lang)

    def incident_id_of(text: str, lang: str | None) -> int:
        return path_number(text, lang, said(IncidentError, "incident.error.not_found", id=text))

    def audited(who: str, step: str, incident_id: int, now: float, details: dict[str, Any]) -> None:
        audit.record(incidents.db, who, AUDITED[step], f"incident {incident_id}", {"via": "api", **details}, at=now)

    def detail(incident_id: int, lang: str | None) -> dict[str, Any]:
        """The incident with its timeline (each entry in words), alerts, checklist, fields, actions and
        postmortem state."""
        lang = language(lang)
        shown = incidents.get(incident_id)
        timeline = shown["timeline"]
        finals = [e for e in timeline if e["kind"] == postmortem.FINAL]
        shown["checklist"] = checklist.checklist(plan, timeline)
        shown["fields"] = checklist.fields(timeline)
        found = incident_actions.fold(timeline, incident_id)
        late = {a["number"] for a in incident_actions.overdue(found, clock())}
        shown["actions"] = [{**a, "overdue": a["number"] in late} for a in found]
        shown["postmortem"] = {"required": shown["severity"] in plan.incidents.follow_up.final_postmortem_for,
                               "final": bool(finals), "final_by": finals[-1]["actor"] if finals else None,
                               "final_at": finals[-1]["at"] if finals else None}
        for entry in timeline:
            entry["text"] = entry_text(entry, plan, lang)
            if entry["kind"] == postmortem.FINAL:  # its frozen facts are the postmortem, not the timeline
                entry["data"] = {}
        shown["timezone"] = plan.timezone
        return shown

    def this_month() -> str:
        return datetime.fromtimestamp(clock(), fmt.zone(plan.timezone)).strftime("%Y-%m")

    def month_of(month: str | None) -> str:
        if month is None:
            return this_month()
        if not re.fullmatch(_MONTH, month):
            raise HTTPException(400, f"month: expected YYYY-MM between 1970-01 and 2999-12, not {month[:20]!r}")
        return month

    def describe(entry: dict[str, Any], lang: str) -> str:
        return entry_text(entry, plan, lang)

    # --- reads ---------------------------------------------------------------------------------

    @router.get("/incidents", responses={**LISTED, 400: REFUSED_READ[400]})
    def get_incidents(status: Status = "open", severity: Annotated[str | None, Query(max_length=40)] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200, lang: Lang = None) -> dict[str, Any]:
        with answered(lang, bad_input=400):
            if severity is not None:
                incidents.check_severity(severity)
            found = incidents.list(include_done=status == "all", limit=limit, severity=severity)
        return {"timezone": plan.timezone, "count": len(found), "incidents": found}

    @router.get("/incidents/figures", responses=BAD_MONTH)
    def get_figures(month: Month = None) -> dict[str, Any]:
        """MTTA and MTTR per severity (median, p90), deadline breaches, the noisiest alerts."""
        start, end = month_range(month_of(month), plan.timezone)
        with incidents.db.session() as session:
            return figures(session, plan, start, end)

    @router.get("/sla", responses=BAD_MONTH)
    def get_sla(month: Month = None) -> dict[str, Any]:
        """Availability per service for a month against the plan's target, and the error budget used."""
        with incidents.db.session() as session:
            return report(session, forms.store(), plan, month_of(month), now=clock())

    @router.get("/incidents/{incident_id}", responses={404: REFUSED_READ[404]})
    def get_incident(incident_id: IncidentId, lang: Lang = None) -> dict[str, Any]:
        with answered(lang):
            return detail(incident_id, lang)

    @router.get("/incidents/{incident_id}/postmortem", responses={**POSTMORTEM, 404: REFUSED_READ[404]})
    def get_postmortem(incident_id: IncidentId, lang: Lang = None,
                       format: Annotated[Literal["md", "html"], Query()] = "md") -> Response:
        now = clock()
        with answered(lang):
            failed = postmortem.failed_requests(forms.store(), incidents.get(incident_id), now)
            with incidents.db.session() as session:
                found = postmortem.final_of(session, incident_id) or postmortem.facts(
                    session, plan, incident_id, now=now, requests_failed=failed)
        wanted = language(lang)
        evidence = postmortem_evidence(found["timeline"], plan)
        if format == "html":
            return HTMLResponse(postmortem_render.html_page(found, plan, wanted, describe, evidence))
        return Response(postmortem_render.markdown(found, plan, wanted, describe, evidence),
                        media_type="text/markdown; charset=utf-8")

    # --- writes --------------------------------------------------------------------------------

    @router.post("/incidents", dependencies=write, status_code=201, openapi_extra=json_body(OpenBody),
                 responses={**REFUSED_STEP, **OPENED})
    def post_open(request: Request, body: JsonBody, lang: WriteLang = None) -> dict[str, Any]:
        """Open an incident by hand (a security incident, a data leak a person reported)."""
        lang = write_lang(lang)
        data = _validated(OpenBody, body)
        who, now = _actor(request, data.by), clock()
        with answered(lang):
            incident_id, details = forms.open(_form(data), by=who, now=now)
            audit.record(incidents.db, who, "incident.open", f"incident {incident_id}", {"via": "api", **details},
                         at=now)
            return detail(incident_id, lang)

    def add_step(path: str, model: type[BaseModel], step: str, empty_ok: bool) -> None:
        def take(request: Request, incident_id: WriteId, body: JsonBody, lang: WriteLang = None) -> dict[str, Any]:
            lang = write_lang(lang)
            data = _validated(model, body, empty_ok=empty_ok)
            iid = incident_id_of(incident_id, lang)
            who, now = _actor(request, data.by), clock()
            with answered(lang):
                details = forms.apply(step, iid, _form(data), by=who, now=now)
                audited(who, step, iid, now, details)
                shown = detail(iid, lang)
            return {**shown, "number": details["number"]} if step == "action_add" else shown

        router.add_api_route(f"/incidents/{{incident_id}}/{path}", take, methods=["POST"], dependencies=write,
                             openapi_extra=json_body(model), responses=REFUSED_STEP, name=f"incident_{path}",
                             summary=f"Incident {path}", description=_SAYS[path])

    for path, (model, step, empty_ok) in STEPS.items():
        add_step(path, model, step, empty_ok)

    @router.post("/incidents/{incident_id}/actions/{number}/done", dependencies=write,
                 openapi_extra=json_body(ActionDoneBody), responses=REFUSED_STEP)
    def post_action_done(request: Request, incident_id: WriteId,
                         number: Annotated[str, Path(json_schema_extra={"pattern": _NUMBER})],
                         body: JsonBody, lang: WriteLang = None) -> dict[str, Any]:
        """Mark a follow-up action done."""
        lang = write_lang(lang)
        data = _validated(ActionDoneBody, body, empty_ok=True)
        iid = incident_id_of(incident_id, lang)
        n = path_number(number, lang, said(IncidentError, "incident.error.unknown_action", id=iid, number=number))
        who, now = _actor(request, data.by), clock()
        with answered(lang):
            details = forms.apply("action_done", iid, {**_form(data), "number": str(n)}, by=who, now=now)
            audited(who, "action_done", iid, now, details)
            return detail(iid, lang)

    @router.post("/incidents/{incident_id}/snooze", dependencies=write, openapi_extra=json_body(SnoozeBody),
                 responses=REFUSED_STEP)
    def post_snooze(request: Request, incident_id: WriteId, body: JsonBody, lang: WriteLang = None) -> dict[str, Any]:
        """No re-page of the acknowledged incident for a while (`snoozed_until` in the answer)."""
        from opsplan.oncall.paging import snooze
        from opsplan.plan.types import parse_duration

        lang = write_lang(lang)
        data = _validated(SnoozeBody, body)
        iid = incident_id_of(incident_id, lang)
        who, now = _actor(request, data.by), clock()
        with answered(lang):
            try:
                seconds = parse_duration(data.duration)
            except ValueError:
                seconds = -1.0
            if seconds <= 0:
                raise said(IncidentError, "oncall.error.bad_duration", text=data.duration)
            until = now + seconds
            snooze(incidents.db, iid, until, by=who, now=now)
            audit.record(incidents.db, who, "incident.snooze", f"incident {iid}", {"via": "api", "until": until},
                         at=now)
            return {**detail(iid, lang), "snoozed_until": until}

    return router
