"""The Reports page (GET /reports): the periodic check runs (seed §2), newest first, each with its
status and who signed it off; GET /reports/{id} the report itself; POST /reports/{id}/sign for an
operator or admin, with a note.

The report is the same self-contained HTML `opsplan report export` writes (inline SVG charts, its
own stylesheet, no script), served with a policy of its own: nothing may load and nothing may run,
only its inline style applies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opsplan import format as fmt
from opsplan.checks import runs
from opsplan.checks.report.render import period_text, status_text, to_html
from opsplan.errors import OpsplanError
from opsplan.store.state import StateDB
from opsplan.web.console.frame import Console, PageContext
from opsplan.web.identity.routes import read_form
from opsplan.web.identity.sessions import Active

REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
MAX_NOTE = 2000


def _rows(db: StateDB, page: PageContext, tz: str) -> list[dict[str, Any]]:
    shown = []
    for run in runs.list_runs(db, limit=100):
        signed = run["signed"]
        shown.append({
            "id": run["id"], "period": period_text(run["period"], page.language), "status": run["status"],
            "status_text": status_text(run["status"], page.language),
            "started": fmt.local_time(float(run["started_at"]), tz, zone_name=True),
            "signed": None if signed is None else {
                "by": signed["by"], "at": fmt.local_time(float(signed["at"]), tz, zone_name=True)},
            "finished": run["finished_at"] is not None})
    return shown


def reports_router(console: Console, db: StateDB, operator: Callable[..., Any],
                   clock: Callable[[], float]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    tz = console.plan.timezone

    @router.get("/reports", response_class=HTMLResponse)
    def reports_page(request: Request, lang: str | None = None) -> Response:
        return console.page(request, "reports.html", lang, lambda page: {"runs": _rows(db, page, tz)})

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

    @router.post("/reports/{run_id}/sign")
    async def sign(request: Request, run_id: int, user: Active = Depends(operator)) -> Response:
        form = await read_form(request)
        note = form.get("note", "").strip()[:MAX_NOTE] or None
        try:
            await run_in_threadpool(runs.sign, db, run_id, by=user.user, note=note, now=clock())
        except OpsplanError as exc:
            raise HTTPException(409, str(exc)) from None
        lang = form.get("lang", "")
        return RedirectResponse("/reports" + (f"?lang={lang}" if lang in ("ko", "en") else ""), status_code=303)

    return router
