"""The incident pages (seed §5, issue 13 item 8), mounted by the incidents stage:

- GET /incidents: the open incidents, most severe first, with where each stands, its owner and its
  two deadlines (met, done late, running, overdue); `?all=1` adds the ended ones. An operator also
  gets the form that opens an incident by hand.
- GET /incidents/{id}: the header, the timeline in words, the linked alerts, the stage checklist
  and the follow-up actions; an operator gets a form for every step (acknowledge, assign, severity,
  stage, task, note, resolve, cancel, merge, close).
- GET /incidents/{id}/postmortem: the postmortem as it would be written now (or the final one),
  in either language (`?pm=ko|en`), with the fields, the follow-up actions and "make final".
- GET /incidents/{id}/postmortem/download/{md|html|pdf}: that postmortem as a file in the chosen
  language (`?pm=`), as `opsplan incident postmortem --format` writes it; any logged-in user.

Every form is a POST with the session's CSRF token (the frame's `operator_only`), is taken as the
logged-in user and audited with `"via": "console"`; a refused step comes back as the same page with
one line in the reader's language (422, or 404 for an incident that does not exist), never a 500.
A viewer sees no forms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opsplan import audit
from opsplan.errors import in_language
from opsplan.i18n import LANGUAGES, t
from opsplan.incidents import postmortem, postmortem_render
from opsplan.incidents.describe import entry_text, severity_text
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.lifecycle import Incidents
from opsplan.pdf import PdfError, html_to_pdf, unavailable
from opsplan.plan.models import Plan
from opsplan.store.state import MAX_ROW_ID
from opsplan.web.console import incident_views as views
from opsplan.web.console.frame import Attachment, Console, NavItem, PageContext, operator_only, safe_name
from opsplan.web.console.incident_forms import AUDITED, POSTMORTEM_ACTIONS, IncidentForms
from opsplan.web.identity.routes import read_form
from opsplan.web.identity.sessions import Active
from opsplan.web.incident_evidence import postmortem_evidence
from opsplan.web.incident_wording import reworded

# The postmortem's downloads, as `opsplan incident postmortem --format md|html` writes them, and PDF.
PM_MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}
DOWNLOAD_LABELS = {"md": "console.download.md", "html": "console.download.html", "pdf": "console.download.pdf"}


def _lang(value: str | None) -> str:
    return value if value in LANGUAGES else ""


def _query(lang: str, pm: str | None = None) -> str:
    pairs = ([("lang", lang)] if lang else []) + ([("pm", pm)] if pm in LANGUAGES else [])
    return ("?" + "&".join(f"{k}={quote(str(v))}" for k, v in pairs)) if pairs else ""


def _known(incident_id: int) -> int:
    """An id the database could hold; a larger one (a pasted link) is no incident, not a failed query."""
    if not 1 <= incident_id <= MAX_ROW_ID:
        raise HTTPException(404, f"no incident {incident_id}")
    return incident_id


def _one_line(exc: IncidentError, lang: str) -> str:
    """The refusal in the page's words (its buttons, not the CLI's commands), first line only."""
    return (in_language(reworded(exc, "console"), lang).splitlines() or [""])[0]


def incidents_router(console: Console, incidents: Incidents, forms: IncidentForms, *,
                     clock: Callable[[], float] = time.time) -> APIRouter:
    console.add_page(NavItem("/incidents", 15))
    router = APIRouter(include_in_schema=False)
    plan = console.plan
    operator = operator_only(console.identity)
    people = [p.name for p in plan.oncall.people]

    def list_content(page: PageContext, include_done: bool, **extra: Any) -> dict[str, Any]:
        return {"incidents": views.listed(incidents, page.language, clock(), include_done=include_done),
                "include_done": include_done, "severities": _severities(plan, page.language), "error": "",
                "open_form": {"severity": "", "title": "", "description": ""}, **extra}

    def detail_content(incident_id: int, page: PageContext, **extra: Any) -> dict[str, Any]:
        try:
            shown = views.detail(incidents, _known(incident_id), page.language, clock())
        except IncidentError:
            raise HTTPException(404, f"no incident {incident_id}") from None
        return {**shown, "people": people, "severities": _severities(plan, page.language),
                "merge_targets": views.merge_targets(incidents, incident_id, page.language), "error": "",
                "failed_action": "", **extra}

    def postmortem_facts(incident_id: int, now: float) -> dict[str, Any]:
        """The final postmortem's frozen facts, else the draft's as of now."""
        try:
            found_incident = incidents.get(_known(incident_id))
        except IncidentError:
            raise HTTPException(404, f"no incident {incident_id}") from None
        failed = postmortem.failed_requests(forms.store(), found_incident, now)
        with incidents.db.session() as session:
            return postmortem.final_of(session, incident_id) or postmortem.facts(
                session, plan, incident_id, now=now, requests_failed=failed)

    def describe(entry: dict[str, Any], lang: str) -> str:
        return entry_text(entry, plan, lang)

    def postmortem_content(incident_id: int, page: PageContext, pm: str | None, **extra: Any) -> dict[str, Any]:
        language = pm if pm in LANGUAGES else page.language
        now = clock()
        found = postmortem_facts(incident_id, now)
        sections = postmortem_render.sections(found, plan, language, describe)
        shown = views.detail(incidents, incident_id, page.language, now)
        return {**shown, "people": people, "pm_lang": language, "pm_title": postmortem_render.title(found, language),
                "pm_final": postmortem_render.final_line(found, plan, language), "sections": sections,
                "is_final": bool(found.get("final_at")), "error": "", "failed_action": "",
                "downloads": postmortem_downloads(page.language), **extra}

    def postmortem_file(incident_id: int, format_: str, language: str) -> Attachment | Response:
        found = postmortem_facts(incident_id, clock())
        evidence = postmortem_evidence(found["timeline"], plan)
        if format_ == "md":
            body = postmortem_render.markdown(found, plan, language, describe, evidence).encode("utf-8")
        else:
            page_html = postmortem_render.html_page(found, plan, language, describe, evidence)
            try:
                body = html_to_pdf(page_html) if format_ == "pdf" else page_html.encode("utf-8")
            except PdfError as exc:  # no WeasyPrint or no Korean font here: the one line saying which
                return PlainTextResponse(in_language(exc, language) + "\n", 503)
        state = "final" if found.get("final_at") else "draft"
        name = safe_name("opsplan", "incident", incident_id, "postmortem", state, language) + f".{format_}"
        return Attachment(body, PM_MEDIA_TYPES[format_], name)

    @router.get("/incidents", response_class=HTMLResponse)
    def incidents_page(request: Request, lang: str | None = None,
                       every: str | None = Query(None, alias="all")) -> Response:
        include_done = every in ("1", "true", "yes")
        return console.page(request, "incidents.html", lang, lambda page: list_content(page, include_done))

    @router.get("/incidents/{incident_id}", response_class=HTMLResponse)
    def incident_page(request: Request, incident_id: int, lang: str | None = None) -> Response:
        return console.page(request, "incident.html", lang, lambda page: detail_content(incident_id, page))

    @router.get("/incidents/{incident_id}/postmortem", response_class=HTMLResponse)
    def postmortem_page(request: Request, incident_id: int, lang: str | None = None,
                        pm: str | None = None) -> Response:
        return console.page(request, "incident_postmortem.html", lang,
                            lambda page: postmortem_content(incident_id, page, pm))

    @router.get("/incidents/{incident_id}/postmortem/download/{format_}")
    def postmortem_download(request: Request, incident_id: int, format_: str, lang: str | None = None,
                            pm: str | None = None) -> Response:
        if format_ not in PM_MEDIA_TYPES:
            raise HTTPException(404, f"no postmortem format {format_[:20]!r}")
        return console.attachment(request, lang, lambda language: postmortem_file(
            incident_id, format_, pm if pm in LANGUAGES else language))

    @router.post("/incidents")
    async def open_incident(request: Request, user: Active = Depends(operator)) -> Response:
        form = await read_form(request)
        lang, now = _lang(form.get("lang")), clock()
        try:
            incident_id, details = await run_in_threadpool(forms.open, form, by=user.user, now=now)
        except IncidentError as exc:
            failure = exc
        else:
            await run_in_threadpool(audit.record, incidents.db, user.user, "incident.open",
                                    f"incident {incident_id}", {"via": "console", **details}, at=now)
            return RedirectResponse(f"/incidents/{incident_id}" + _query(lang), status_code=303)

        def refused(page: PageContext) -> dict[str, Any]:
            echo = {k: form.get(k, "")[:200] for k in ("severity", "title", "description")}
            return list_content(page, False, error=_one_line(failure, page.language), open_form=echo)

        return console.page(request, "incidents.html", lang or None, refused, status_code=422)

    @router.post("/incidents/{incident_id}/{action}")
    async def incident_step(request: Request, incident_id: int, action: str,
                            user: Active = Depends(operator)) -> Response:
        if action not in AUDITED:
            raise HTTPException(404, f"no such incident step: {action[:40]}")
        _known(incident_id)
        form = await read_form(request)
        lang, now = _lang(form.get("lang")), clock()
        back = f"/incidents/{incident_id}" + ("/postmortem" if action in POSTMORTEM_ACTIONS else "")
        try:
            details = await run_in_threadpool(forms.apply, action, incident_id, form, by=user.user, now=now)
        except IncidentError as exc:
            failure = exc
        else:
            await run_in_threadpool(audit.record, incidents.db, user.user, AUDITED[action],
                                    f"incident {incident_id}", {"via": "console", **details}, at=now)
            pm = form.get("pm") if action in POSTMORTEM_ACTIONS else None
            return RedirectResponse(back + _query(lang, pm) + f"#{action}", status_code=303)
        if not await run_in_threadpool(forms.exists, incident_id):
            raise HTTPException(404, f"no incident {incident_id}")

        def refused(page: PageContext) -> dict[str, Any]:
            said = {"error": _one_line(failure, page.language), "failed_action": action}
            if action in POSTMORTEM_ACTIONS:
                return postmortem_content(incident_id, page, form.get("pm"), **said)
            return detail_content(incident_id, page, **said)

        template = "incident_postmortem.html" if action in POSTMORTEM_ACTIONS else "incident.html"
        return console.page(request, template, lang or None, refused, status_code=422)

    return router


def postmortem_downloads(lang: str) -> list[dict[str, str]]:
    """The postmortem's download links: Markdown and HTML, and PDF where it can be made here."""
    offered = [f for f in PM_MEDIA_TYPES if f != "pdf" or unavailable() is None]
    return [{"format": f, "label": t(DOWNLOAD_LABELS[f], lang)} for f in offered]


def _severities(plan: Plan, lang: str) -> list[dict[str, str]]:
    return [{"name": name, "text": severity_text(name, lang)} for name in plan.incidents.severities]
