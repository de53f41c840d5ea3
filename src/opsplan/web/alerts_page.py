"""The alerts page (GET /alerts): open alerts for everyone who may read the console, and for a
logged-in operator or admin an acknowledge button per firing alert and a "silence 1h" form.

The buttons are plain forms (no script) carrying the session's CSRF token; their POST routes take
the user from the identity stage's `require_role("operator")` and act through web/alert_actions.py,
as the JSON API does, so the actor in the alert state and the audit log is the logged-in user.
A form posted without a session is refused with 403, like one without its token.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.errors import AlertError, NotFound
from opsplan.alerts.silences import Matcher
from opsplan.i18n import LANGUAGES
from opsplan.web.alert_actions import acknowledge_alert, silence_alerts
from opsplan.web.console.frame import Console, PageContext, operator_only
from opsplan.web.identity.routes import read_form
from opsplan.web.identity.sessions import Active
from opsplan.web.status_alerts import open_alerts

log = logging.getLogger(__name__)

SILENCE_SECONDS = 3600.0  # the page's one silence: an hour, enough to fix or to decide on a longer one
MAX_COMMENT = 2000


def _back(form: dict[str, str]) -> RedirectResponse:
    lang = form.get("lang", "")
    return RedirectResponse("/alerts" + (f"?lang={quote(lang)}" if lang in LANGUAGES else ""), status_code=303)


def alerts_page_router(engine: AlertEngine, console: Console) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    plan = engine.plan
    operator = operator_only(console.identity)

    def content(page: PageContext) -> dict[str, Any]:
        # As stored now: the ack the operator just pressed shows on the page the button leads back to.
        return {"alerts": open_alerts(engine, page.language, plan.timezone)}

    @router.get("/alerts", response_class=HTMLResponse)
    def alerts_page(request: Request, lang: str | None = None) -> Response:
        return console.page(request, "alerts.html", lang, content)

    @router.get("/alerts/table", response_class=HTMLResponse)
    def alerts_table(request: Request, lang: str | None = None) -> Response:
        """The table alone: what htmx swaps in every interval (the page keeps its scroll position)."""
        return console.page(request, "alerts_table.html", lang, content)

    @router.post("/alerts/{fingerprint}/ack")
    async def ack(request: Request, fingerprint: str, user: Active = Depends(operator)) -> Response:
        form = await read_form(request)
        try:
            acknowledge_alert(engine.db, fingerprint, actor=user.user, comment=form.get("comment", "")[:MAX_COMMENT],
                              via="console", now=engine.clock())
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except AlertError as exc:
            raise HTTPException(422, str(exc)) from None
        return _back(form)

    @router.post("/alerts/{fingerprint}/silence")
    async def silence(request: Request, fingerprint: str, user: Active = Depends(operator)) -> Response:
        form = await read_form(request)
        alert = next((a for a in engine.active() if a.fingerprint == fingerprint and a.state != "resolved"), None)
        if alert is None:
            raise HTTPException(404, f"no open alert with fingerprint {fingerprint[:40]!r}")
        now = engine.clock()
        try:
            # Exactly this alert: every one of its labels (alertname and subject included) must match.
            matchers = [Matcher(name, "=", value) for name, value in sorted(alert.labels.items())]
            silence_alerts(engine.db, matchers, starts_at=now, ends_at=now + SILENCE_SECONDS, author=user.user,
                           comment=form.get("comment", "")[:MAX_COMMENT], via="console", now=now)
        except AlertError as exc:
            raise HTTPException(422, str(exc)) from None
        return _back(form)

    return router
