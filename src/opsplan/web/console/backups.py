"""The backups page (GET /backups): database chains, the binlog archive and RPO, AI model versions,
configuration commits and retention, for everyone who may read the console.

A logged-in operator or admin also gets two plain forms (CSRF token, no script):
- "back up now" (POST /backups/database/run) starts serve's `backup-database` job through the
  scheduler (JobControl), so a backup started by hand and the 02:00 one never run at once;
- "verify" per kept backup (POST /backups/database/{id}/verify) runs what `opsplan backup verify ID`
  runs (re-hash the stored files against the catalog) on a thread of its own: a large backup takes
  minutes to read, a request must not wait that long. The result lands in the catalog, where the
  page reads it.
Both are audited with the logged-in user. While a backup or a verify runs, the list refreshes
itself (htmx swaps the fragment; without script a meta refresh) and stops once nothing runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsplan import audit
from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import OK
from opsplan.backup.database.verify import verify_backup
from opsplan.errors import BackupError
from opsplan.i18n import LANGUAGES, t
from opsplan.jobs import ALREADY_RUNNING, JobControl
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB
from opsplan.web.console import backups_view as view
from opsplan.web.console.frame import Console, PageContext, operator_only
from opsplan.web.identity.routes import read_form
from opsplan.web.identity.sessions import Active

log = logging.getLogger(__name__)

JOB = "backup-database"
REFRESH_SECONDS = 3  # while something runs: a backup's row appears, then finishes, without a reload
# What the page says after a button, by the `done` the redirect carries (literal keys for the catalogue test).
_JOB_NOTICES = {"started": "console.backups.notice.started", "already": "console.backups.notice.already"}
_VERIFY_NOTICES = {"verifying": "console.backups.notice.verifying",
                   "verify-already": "console.backups.notice.verify_already"}


class Verifier:
    """Verifications running on their own threads, one per backup at a time."""

    def __init__(self, plan: Plan, state_db: StateDB, *, clock: Callable[[], float] = time.time):
        self.plan, self.state_db, self.clock = plan, state_db, clock
        self._lock = threading.Lock()
        self._threads: dict[int, threading.Thread] = {}
        # A verify that could not even record its result (an unreadable file: PermissionError is no
        # BackupError): the page says so instead of showing "not verified" as if nobody had asked.
        self._errors: dict[int, str] = {}

    def start(self, backup_id: int) -> bool:
        """False when this backup is being verified already (nothing new starts)."""
        with self._lock:
            running = self._threads.get(backup_id)
            if running is not None and running.is_alive():
                return False
            thread = threading.Thread(target=self._run, args=(backup_id,), name=f"verify-backup-{backup_id}",
                                      daemon=True)
            self._threads[backup_id] = thread
            self._errors.pop(backup_id, None)
            thread.start()
            return True

    def _run(self, backup_id: int) -> None:
        try:
            verify_backup(self.plan, self.state_db, backup_id, clock=self.clock)  # records the result
        except Exception as exc:  # noqa: BLE001 - a thread's end is logged, not a traceback on stderr
            log.error("verify of backup %d (started from the console) did not finish: %s", backup_id, exc)
            with self._lock:
                self._errors[backup_id] = f"{type(exc).__name__}: {exc}"

    def errors(self) -> dict[int, str]:
        """Backups whose last verify from the page ended without a result, and why (English, for `상세:`)."""
        with self._lock:
            return dict(self._errors)

    def running(self) -> set[int]:
        with self._lock:
            return {backup_id for backup_id, thread in self._threads.items() if thread.is_alive()}

    def wait(self, timeout: float = 30.0) -> None:
        """Until every verify started so far ends (tests; serve's stop)."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)


def _job_running(jobs: JobControl) -> bool:
    try:
        return jobs.running(JOB)
    except KeyError:  # a serve without the job (it cannot happen with the backup stage; be safe)
        return False


def _back(form: dict[str, str], **query: str) -> RedirectResponse:
    lang = form.get("lang", "")
    params = ({"lang": lang} if lang in LANGUAGES else {}) | query
    return RedirectResponse("/backups" + (f"?{urlencode(params)}" if params else ""), status_code=303)


def _notice(done: str, backup_id: str, language: str) -> str | None:
    """The line a button's redirect asks for (`?done=`); anything else in the query shows nothing."""
    if done in _JOB_NOTICES:
        return t(_JOB_NOTICES[done], language)
    if done in _VERIFY_NOTICES and backup_id.isdigit():
        return t(_VERIFY_NOTICES[done], language, id=int(backup_id))
    return None


def backups_router(plan: Plan, state_db: StateDB, console: Console, jobs: JobControl, *,
                   clock: Callable[[], float] = time.time, verifier: Verifier | None = None) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    operator = operator_only(console.identity)
    verifier = verifier or Verifier(plan, state_db, clock=clock)

    def content(page: PageContext) -> dict[str, Any]:
        now, language = clock(), page.language
        verifying = verifier.running()
        db = view.database(plan, state_db, now, language, verifying=verifying, job_running=_job_running(jobs),
                           may_operate=page.may_operate, unfinished=verifier.errors())
        notice = _notice(page.request.query_params.get("done", ""), page.request.query_params.get("id", ""),
                         language)
        return {"db": db, "binlogs": view.binlogs(plan, state_db, now, language),
                "models": view.models(plan, state_db, language), "config": view.config(plan, state_db, now, language),
                "notice": notice, "live": db["running"] or bool(verifying), "refresh_seconds": REFRESH_SECONDS}

    @router.get("/backups", response_class=HTMLResponse)
    def backups_page(request: Request, lang: str | None = None) -> Response:
        return console.page(request, "backups.html", lang, content)

    @router.get("/backups/content", response_class=HTMLResponse)
    def backups_fragment(request: Request, lang: str | None = None) -> Response:
        """The lists alone: what htmx swaps in while something runs."""
        return console.page(request, "backups_content.html", lang, content)

    @router.post("/backups/database/run")
    async def run_backup(request: Request, user: Active = Depends(operator)) -> Response:
        form = await read_form(request)
        try:
            outcome = jobs.run_now(JOB, by=user.user)
        except (KeyError, RuntimeError) as exc:  # serve's scheduler is not running, or runs no such job
            raise HTTPException(503, f"cannot start the database backup now: {exc}") from None
        audit.record(state_db, user.user, "backup.start", "backup database", {"via": "console", "requested": "auto"},
                     at=clock(), outcome=outcome)
        return _back(form, done="already" if outcome == ALREADY_RUNNING else "started")

    @router.post("/backups/database/{backup_id}/verify")
    async def verify(request: Request, backup_id: int, user: Active = Depends(operator)) -> Response:
        form = await read_form(request)
        try:
            with state_db.session() as session:
                status = catalog.get_backup(session, backup_id).status
        except BackupError as exc:
            raise HTTPException(404, str(exc)) from None
        if status != OK:
            raise HTTPException(409, f"backup {backup_id} is {status}: only a finished, ok backup can be verified")
        started = verifier.start(backup_id)
        audit.record(state_db, user.user, "backup.verify", f"backup {backup_id}", {"via": "console", "deep": False},
                     at=clock(), outcome="started" if started else ALREADY_RUNNING)
        return _back(form, done="verifying" if started else "verify-already", id=str(backup_id))

    return router
