"""The runbooks page (GET /runbooks): the runbook journal (`opsplan runbook list/show`) in the console.

Each run with its kind, who started it, when, its status and its steps; a run in progress
refreshes its steps every few seconds through htmx (the fragments /runbooks/runs and
/runbooks/{id}/steps; without JavaScript a reload link). /runbooks/{id} shows every step with its
output and, for a drill, the RTO and RPO it measured against the plan's targets.

Two actions, plain forms with the session's CSRF token:
- "run a drill now" (operator or admin): starts serve's `drill-database` job through JobControl,
  so a drill started by hand and one started by the clock never run at once;
- "restore the database" (admin only): the admin types their password again (checked by the
  identity stage, a wrong one counted in the login throttle) and the server's name, then the
  restore runbook starts in a thread (restore_start.py) and the page goes to its live progress.
Every press is audited with the logged-in user: drill.start, restore.start, restore.refused.
A viewer sees no buttons, an operator no restore form; a POST without the role gets 403.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opsplan import audit
from opsplan.errors import OpsplanError, RunbookError
from opsplan.i18n import LANGUAGES, t
from opsplan.jobs import ALREADY_RUNNING, STARTED, JobControl
from opsplan.store.state import StateDB
from opsplan.web.console import runbook_views as views
from opsplan.web.console.frame import Console, NavItem, PageContext
from opsplan.web.console.restore_start import RestoreBusy, RestoreStarter
from opsplan.web.identity.login import OK, THROTTLED
from opsplan.web.identity.routes import IdentityWeb, read_form
from opsplan.web.identity.sessions import Active

DRILL_JOB = "drill-database"
LIVE_SECONDS = 2  # how often a run in progress refreshes its steps
# What the page says after a drill button press, by `?drill=` (literal catalogue keys).
DRILL_NOTES = {"started": "console.runbooks.drill_started", "already": "console.runbooks.drill_already",
               "unavailable": "console.runbooks.drill_unavailable"}
# Why a restore form was refused: the page's words (literal keys; "busy" names the run, see
# `_refusal`), and the HTTP status the page comes back with.
REFUSAL_TEXT = {"password": "console.runbooks.refused.password", "throttled": "console.runbooks.refused.throttled",
                "confirmation": "console.runbooks.refused.confirmation", "backup": "console.runbooks.refused.backup",
                "target": "console.runbooks.refused.target", "cannot": "console.runbooks.refused.cannot"}
REFUSAL_STATUS = {"password": 403, "throttled": 429, "confirmation": 422, "backup": 422, "target": 422,
                  "busy": 409, "cannot": 422}
MAX_FIELD = 1000


def _needs(identity: IdentityWeb | None, role: str) -> Callable[[Request], Awaitable[Active]]:
    """`require_role(role)`, with 403 (not 401) for a form posted without a session."""
    if identity is None:  # no identity stage (monitoring only): nobody may start anything
        async def refused(_request: Request) -> Active:
            raise HTTPException(403, "the console's logins are off")
        return refused
    check = identity.require_role(role)

    async def dependency(request: Request) -> Active:
        try:
            return await check(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                raise HTTPException(403, f"log in as an {role} first") from None
            raise

    return dependency


def _lang(value: str | None) -> str:
    return value if value in LANGUAGES else ""


def _query(lang: str, **more: str) -> str:
    pairs = ([("lang", lang)] if lang else []) + [(k, v) for k, v in more.items() if v]
    return ("?" + "&".join(f"{k}={quote(v)}" for k, v in pairs)) if pairs else ""


def runbooks_router(console: Console, state_db: StateDB, job_control: JobControl, restore: RestoreStarter,
                    *, clock: Callable[[], float] = time.time) -> APIRouter:
    console.add_page(NavItem("/runbooks", 40))
    router = APIRouter(include_in_schema=False)
    plan = console.plan
    tz = plan.timezone
    identity = console.identity
    operator, admin = _needs(identity, "operator"), _needs(identity, "admin")

    def drill_running() -> bool:
        try:
            return job_control.running(DRILL_JOB)
        except KeyError:
            return False

    def list_content(page: PageContext, **extra: Any) -> dict[str, Any]:
        rows = views.runs(state_db, page.language, tz)
        return {"runs": rows, "live": LIVE_SECONDS,
                "watching": drill_running() or any(row["running"] for row in rows),
                "drill_message": "", "restore_error": "", "restore_detail": "", "restore_running": restore.running(),
                "restore_form": {"backup": "", "target_datadir": ""}, **extra}

    @router.get("/runbooks", response_class=HTMLResponse)
    def runbooks_page(request: Request, lang: str | None = None, drill: str | None = None) -> Response:
        def content(page: PageContext) -> dict[str, Any]:
            message = t(DRILL_NOTES[drill], page.language) if drill in DRILL_NOTES else ""
            return list_content(page, drill_message=message)

        return console.page(request, "runbooks.html", lang, content)

    @router.get("/runbooks/runs", response_class=HTMLResponse)
    def runs_fragment(request: Request, lang: str | None = None) -> Response:
        """The runs alone: what htmx swaps in while something runs."""
        return console.page(request, "runbook_runs.html", lang, list_content)

    def detail(run_id: int, page: PageContext) -> dict[str, Any]:
        try:
            run = views.run_detail(state_db, run_id, page.language, tz)
        except RunbookError:
            raise HTTPException(404, f"no runbook run {run_id}") from None
        return {"run": run, "live": LIVE_SECONDS}

    @router.get("/runbooks/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: int, lang: str | None = None) -> Response:
        return console.page(request, "runbook.html", lang, lambda page: detail(run_id, page))

    @router.get("/runbooks/{run_id}/steps", response_class=HTMLResponse)
    def steps_fragment(request: Request, run_id: int, lang: str | None = None) -> Response:
        """One run's status and steps alone: what htmx swaps in every few seconds while it runs."""
        return console.page(request, "runbook_steps.html", lang, lambda page: detail(run_id, page))

    @router.post("/runbooks/drill")
    async def start_drill(request: Request, user: Active = Depends(operator)) -> Response:
        form = await read_form(request)
        lang = _lang(form.get("lang"))
        try:
            outcome = job_control.run_now(DRILL_JOB, by=user.user)
        except KeyError:
            outcome = "unavailable"
        except RuntimeError:  # serve's scheduler is not running yet (or any more)
            raise HTTPException(503, "jobs cannot be started now: the scheduler is not running") from None
        await run_in_threadpool(audit.record, state_db, user.user, "drill.start", DRILL_JOB,
                                {"via": "console"}, at=clock(), outcome=outcome)
        note = {STARTED: "started", ALREADY_RUNNING: "already"}.get(outcome, "unavailable")
        return RedirectResponse("/runbooks" + _query(lang, drill=note), status_code=303)

    @router.post("/runbooks/restore")
    async def start_restore(request: Request, user: Active = Depends(admin)) -> Response:
        form = {k: v[:MAX_FIELD] for k, v in (await read_form(request)).items()}
        lang = _lang(form.get("lang"))
        address = request.client.host if request.client else None
        params, why, detail_text = await run_in_threadpool(_checked, form, user, address)
        if why is None:
            try:
                run_id = await run_in_threadpool(restore.start, params, user.user)
            except RestoreBusy:
                why = "busy"
            except OpsplanError as exc:
                why, detail_text = "cannot", (str(exc).splitlines() or [""])[0]
            else:
                await run_in_threadpool(audit.record, state_db, user.user, "restore.start", f"runbook #{run_id}",
                                        {**params, "via": "console"}, at=clock(), run_id=run_id, outcome="started")
                return RedirectResponse(f"/runbooks/{run_id}" + _query(lang), status_code=303)
        await run_in_threadpool(audit.record, state_db, user.user, "restore.refused", "restore-db",
                                {**params, "via": "console", "reason": why}, at=clock(), outcome="refused",
                                detail=detail_text or None)
        def content(page: PageContext) -> dict[str, Any]:
            return list_content(page, restore_error=_refusal(why, page.language, restore.running()),
                                restore_detail=detail_text, restore_form=_echo(form))

        return console.page(request, "runbooks.html", lang or None, content, role="admin",
                            status_code=REFUSAL_STATUS[why])

    def _checked(form: dict[str, str], user: Active, address: str | None) -> tuple[dict[str, Any], str | None, str]:
        """The restore's params, and why the form is refused (None: it may start) with a detail line.
        The password first: a wrong one counts in the throttle whatever else the form got wrong."""
        params: dict[str, Any] = {"backup_id": None, "time": None, "time_text": None, "target_datadir": None,
                                  "target_port": None}
        assert identity is not None  # `admin` refuses every POST without an identity stage
        answer = identity.login.confirm_password(user.user, form.get("password", ""), address=address)
        if answer == THROTTLED:
            return params, "throttled", ""
        if answer != OK:
            return params, "password", ""
        if form.get("confirm", "").strip() != plan.server.name:
            return params, "confirmation", ""
        backup = form.get("backup", "").strip()
        if backup:
            if not backup.isdigit() or int(backup) < 1:
                return params, "backup", ""
            params["backup_id"] = int(backup)
        target = form.get("target_datadir", "").strip()
        if target:
            if not Path(target).is_absolute():
                return params, "target", ""
            params["target_datadir"] = target
        running = restore.running()
        if running is not None:
            return params, "busy", ""
        return params, None, ""

    return router


def _refusal(why: str, lang: str, running: int | None) -> str:
    if why == "busy":
        return t("console.runbooks.refused.busy", lang, id=running if running is not None else "?")
    return t(REFUSAL_TEXT[why], lang)


def _echo(form: dict[str, str]) -> dict[str, str]:
    """What the refused form is shown again with: never the password."""
    return {"backup": form.get("backup", ""), "target_datadir": form.get("target_datadir", "")}
