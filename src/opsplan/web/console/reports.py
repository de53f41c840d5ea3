"""The Reports page (GET /reports): the periodic check runs (seed §2), newest first, each with its
status and who signed it off; GET /reports/{id} the report itself; POST /reports/{id}/sign for an
operator or admin, with a note.

"Run now" (operator or admin): POST /reports/run/{period} starts serve's `check-{period}` job through
JobControl, as the Runbooks page's drill button does, so a run started by hand and one started by
the clock never run at once. Audited (check.start) with the user's name; the page says whether it
started, and shows each period's job as running (it reloads itself meanwhile) or its last run done.

The report is the same self-contained HTML `opsplan report export` writes (inline SVG charts, its
own stylesheet, no script), served with a policy of its own: nothing may load and nothing may run,
only its inline style applies. GET /reports/{id}/download/{format} hands it out as a file (html, md,
json, and pdf where WeasyPrint and a Korean font are installed) in the page's language, for any
logged-in user, as `opsplan report export` writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opsplan import audit
from opsplan import format as fmt
from opsplan.checks import runs
from opsplan.checks.report.render import period_text, render, status_text, to_html
from opsplan.errors import OpsplanError, in_language
from opsplan.i18n import t
from opsplan.jobs import ALREADY_RUNNING, STARTED, JobControl
from opsplan.pdf import PdfError, html_to_pdf, unavailable
from opsplan.store.state import StateDB
from opsplan.web.console.frame import Attachment, Console, PageContext, safe_name
from opsplan.web.identity.routes import read_form
from opsplan.web.identity.sessions import Active

REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
MAX_NOTE = 2000
# What the page says after a "run now" press, by `?started=` (literal catalogue keys).
RUN_NOTES = {"started": "console.reports.run_started", "already": "console.reports.run_already",
             "unavailable": "console.reports.run_unavailable"}
# What each download is served as (the file's extension is the format's name).
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8",
               "json": "application/json", "pdf": "application/pdf"}
DOWNLOAD_LABELS = {"html": "console.download.html", "md": "console.download.md", "json": "console.download.json",
                   "pdf": "console.download.pdf"}


def downloads(page: PageContext) -> list[dict[str, str]]:
    """The formats a report may be downloaded in here (PDF only where it can be made)."""
    offered = [f for f in MEDIA_TYPES if f != "pdf" or unavailable() is None]
    return [{"format": f, "label": t(DOWNLOAD_LABELS[f], page.language)} for f in offered]


def report_file(run: dict[str, Any], format_: str, language: str, tz: str) -> Attachment:
    """A stored run as the file `opsplan report export` would write; PdfError where no PDF can be made."""
    html = to_html(run, language, tz)
    if format_ == "pdf":
        body = html_to_pdf(html)
    else:
        body = (html if format_ == "html" else render(run, format_, language, tz)).encode("utf-8")
    name = safe_name("opsplan", "report", run["id"], run["period"], language) + f".{format_}"
    return Attachment(body, MEDIA_TYPES[format_], name)


def _rows(db: StateDB, page: PageContext, tz: str) -> list[dict[str, Any]]:
    shown = []
    for run in runs.list_runs(db, limit=100):
        signed = run["signed"]
        shown.append({
            "id": run["id"], "period": period_text(run["period"], page.language), "period_id": run["period"],
            "status": run["status"],
            "status_text": status_text(run["status"], page.language),
            "started": fmt.local_time(float(run["started_at"]), tz, zone_name=True),
            "signed": None if signed is None else {
                "by": signed["by"], "at": fmt.local_time(float(signed["at"]), tz, zone_name=True)},
            "finished": run["finished_at"] is not None})
    return shown


def _job(period: str) -> str:
    return f"check-{period}"  # stages/checks.py names its jobs so


def _buttons(jobs: JobControl | None, periods: list[str], rows: list[dict[str, Any]],
             page: PageContext) -> list[dict[str, Any]]:
    """One "run now" per period: whether its job runs now, else its newest run (done)."""
    if jobs is None:
        return []
    shown = []
    for period in periods:
        last = next((r for r in rows if r["period_id"] == period and r["finished"]), None)
        shown.append({"period": period, "name": period_text(period, page.language),
                      "running": jobs.running(_job(period)), "last": last})
    return shown


def reports_router(console: Console, db: StateDB, operator: Callable[..., Any],
                   clock: Callable[[], float], *, jobs: JobControl | None = None,
                   periods: list[str] | None = None) -> APIRouter:
    """`jobs` (serve's scheduler) and `periods` (those with a job): without them, no "run now"."""
    router = APIRouter(include_in_schema=False)
    tz = console.plan.timezone
    runnable = list(periods or [])

    @router.get("/reports", response_class=HTMLResponse)
    def reports_page(request: Request, lang: str | None = None, started: str | None = None) -> Response:
        def content(page: PageContext) -> dict[str, Any]:
            rows = _rows(db, page, tz)
            buttons = _buttons(jobs, runnable, rows, page)
            return {"runs": rows, "buttons": buttons, "downloads": downloads(page),
                    "pdf_unavailable": unavailable() is not None,
                    "watching": any(b["running"] for b in buttons),
                    "run_message": t(RUN_NOTES[started], page.language) if started in RUN_NOTES else ""}

        return console.page(request, "reports.html", lang, content)

    @router.post("/reports/run/{period}")
    async def run_now(request: Request, period: str, user: Active = Depends(operator)) -> Response:
        if period not in runs.PERIODS:
            raise HTTPException(404, f"no check period {period[:20]!r}")
        form = await read_form(request)
        lang = form.get("lang", "")
        if jobs is None or period not in runnable:
            outcome = "unavailable"
        else:
            try:
                outcome = jobs.run_now(_job(period), by=user.user)
            except KeyError:
                outcome = "unavailable"
            except RuntimeError:  # serve's scheduler is not running yet (or any more)
                raise HTTPException(503, "jobs cannot be started now: the scheduler is not running") from None
        await run_in_threadpool(audit.record, db, user.user, "check.start", _job(period), {"via": "console"},
                                at=clock(), kind="check", outcome=outcome)
        note = {STARTED: "started", ALREADY_RUNNING: "already"}.get(outcome, "unavailable")
        query = f"?started={note}" + (f"&lang={lang}" if lang in ("ko", "en") else "")
        return RedirectResponse("/reports" + query, status_code=303)

    @router.get("/reports/{run_id}", response_class=HTMLResponse)
    def report(request: Request, run_id: int, lang: str | None = None) -> Response:
        def content(page: PageContext) -> dict[str, Any]:
            try:
                run = runs.get_run(db, run_id)
            except OpsplanError as exc:
                raise HTTPException(404, str(exc)) from None
            return {"report": to_html(run, page.language, tz)}

        answer = console.page(request, "report_document.html", lang, content)
        if answer.status_code == 200:
            answer.headers["Content-Security-Policy"] = REPORT_CSP
        return answer

    @router.get("/reports/{run_id}/download/{format_}")
    def download(request: Request, run_id: int, format_: str, lang: str | None = None) -> Response:
        if format_ not in MEDIA_TYPES:
            raise HTTPException(404, f"no report format {format_[:20]!r}")

        def build(language: str) -> Attachment | Response:
            try:
                return report_file(runs.get_run(db, run_id), format_, language, tz)
            except PdfError as exc:  # no WeasyPrint or no Korean font here: the one line saying which
                return PlainTextResponse(in_language(exc, language) + "\n", 503)
            except OpsplanError as exc:
                raise HTTPException(404, str(exc)) from None

        return console.attachment(request, lang, build)

    @router.post("/reports/{run_id}/sign")
    async def sign(request: Request, run_id: int, user: Active = Depends(operator)) -> Response:
        form = await read_form(request)
        note = form.get("note", "").strip()[:MAX_NOTE] or None
        try:
            await run_in_threadpool(runs.sign, db, run_id, by=user.user, note=note, now=clock())
        except OpsplanError as exc:  # no such run: 404; signed already or not finished: 409
            raise HTTPException(404 if getattr(exc, "message_key", "") == "checks.error.no_run" else 409,
                                str(exc)) from None
        lang = form.get("lang", "")
        return RedirectResponse("/reports" + (f"?lang={lang}" if lang in ("ko", "en") else ""), status_code=303)

    return router
