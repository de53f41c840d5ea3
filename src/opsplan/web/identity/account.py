"""The Account page (GET /account): a logged-in user's own settings, reached from the "logged in
as" line of every console page.

- Console language: ko, en, or the plan's; kept in `identity_users.language`, which the frame
  reads on the next request.
- Password: the current one, then the new one twice, under `opsplan user passwd`'s policy; every
  other session of the user ends, this one stays.
- Two-step login (TOTP): start (with the password) shows a new secret, its otpauth:// link and a QR
  code; a current code from the app turns it on and shows the recovery codes once; the password
  and a code turn it off. The secret waits in this process's memory, for this session only, until
  it is confirmed (an unconfirmed secret is never stored: a half-done enrolment cannot lock a user out).

Every change is audited with the user as the actor (`users.py` writes the entries), and every form
carries the session's CSRF token (`require_user()` checks it with the Origin). The page renders in
the console's frame: the console stage hands this router `Console.page` (this package does not
import the console; web/identity sits below it).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from opsplan.errors import in_language
from opsplan.i18n import LANGUAGES, t
from opsplan.web.identity import totp
from opsplan.web.identity.routes import IdentityWeb, read_form
from opsplan.web.identity.sessions import Active
from opsplan.web.identity.users import DEFAULT_LANGUAGE, IdentityError, Users

# Console.page(request, template, lang, build, *, role=..., status_code=...): the frame's renderer.
PageRenderer = Callable[..., Response]
PENDING_FOR = 10 * 60.0  # an enrolment not confirmed within this is forgotten: start again
# What the page says after a change that redirected back to it (`?done=`).
DONE = {"language": "console.account.done_language", "password": "console.account.done_password",
        "totp_off": "console.account.done_totp_off"}
# What a form the page refuses says, when no IdentityError says it.
REFUSED = {"mismatch": "identity.password_mismatch", "start_again": "console.account.totp_start_again",
           "wrong_code": "identity.wrong_code"}


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    started: float


class PendingEnrolments:
    """TOTP secrets shown but not yet confirmed, by session id, for `PENDING_FOR` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_session: dict[int, Enrolment] = {}
        self._lock = threading.Lock()

    def start(self, session_id: int) -> Enrolment:
        with self._lock:
            self._forget_old()
            enrolment = Enrolment(totp.new_secret(), self._clock())
            self._by_session[session_id] = enrolment
            return enrolment

    def get(self, session_id: int) -> Enrolment | None:
        with self._lock:
            self._forget_old()
            return self._by_session.get(session_id)

    def drop(self, session_id: int) -> None:
        with self._lock:
            self._by_session.pop(session_id, None)

    def _forget_old(self) -> None:
        now = self._clock()
        for key in [k for k, e in self._by_session.items() if now - e.started > PENDING_FOR]:
            del self._by_session[key]


def qr_svg(text: str, title: str) -> Markup | None:
    """`text` as a QR code in inline SVG (no script, no style: the page's policy allows it), or None
    without the optional `segno` package (the page then shows the secret and the link as text)."""
    try:
        segno: Any = importlib.import_module("segno")
    except ImportError:
        return None
    svg = segno.make(text, error="m").svg_inline(scale=4, border=2, title=title)
    return Markup(svg)  # noqa: S704 - segno's own SVG of a link we made, not user input


def grouped(secret: str) -> str:
    """`JBSWY3DPEHPK3PXP` -> `JBSW Y3DP EHPK 3PXP`: easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def account_router(web: IdentityWeb, page: PageRenderer) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    users = Users(web.state_db, web.plan.data_dir, web.clock, web.login.hasher)
    pending = PendingEnrolments()
    logged_in = web.require_user()

    def render(request: Request, lang: str | None, *, status: int = 200, done: str | None = None,
               error: IdentityError | str | None = None, enrolment: Enrolment | None = None,
               codes: list[str] | None = None) -> Response:
        def content(context: Any) -> Mapping[str, Any]:
            language, active = context.language, context.user
            view = users.get(active.user)
            shown_error = t(REFUSED[error], language) if isinstance(error, str) else (
                in_language(error, language) if error is not None else None)
            enrol = None
            if enrolment is not None:
                uri = totp.provisioning_uri(enrolment.secret, active.user)
                enrol = {"secret": grouped(enrolment.secret), "uri": uri,
                         "qr": qr_svg(uri, t("console.account.totp_qr", language))}
            return {"account": {"name": view.name, "language": view.language or DEFAULT_LANGUAGE,
                                "plan_language": web.plan.language, "totp": view.totp},
                    "done": t(DONE[done], language) if done in DONE else None,
                    "error": shown_error, "enrolment": enrol, "recovery_codes": codes}

        return page(request, "account.html", lang, content, status_code=status)

    def form_lang(form: Mapping[str, str]) -> str | None:
        value = form.get("lang", "")
        return value if value in LANGUAGES else None

    def address(request: Request) -> str | None:
        return request.client.host if request.client else None

    @router.get("/account")
    def account_page(request: Request, lang: str | None = None, done: str | None = None) -> Response:
        return render(request, lang, done=done)

    @router.post("/account/language")
    async def set_language(request: Request, active: Active = Depends(logged_in)) -> Response:
        form = await read_form(request)
        try:
            users.set_language(active.user, form.get("language", ""), actor=active.user)
        except IdentityError as exc:
            return render(request, form_lang(form), status=400, error=exc)
        # No ?lang=: the next page is in the language just chosen.
        return RedirectResponse("/account?done=language", status_code=303)

    @router.post("/account/password")
    async def change_password(request: Request, active: Active = Depends(logged_in)) -> Response:
        form = await read_form(request)
        lang = form_lang(form)
        new = form.get("new_password", "")
        if new != form.get("repeat_password", ""):
            return render(request, lang, status=400, error="mismatch")
        try:
            users.change_own_password(active.user, form.get("current_password", ""), new, keep_session=active.id,
                                      address=address(request))
        except IdentityError as exc:
            return render(request, lang, status=400, error=exc)
        return RedirectResponse(_back("password", lang), status_code=303)

    @router.post("/account/totp/start")
    async def start_totp(request: Request, active: Active = Depends(logged_in)) -> Response:
        form = await read_form(request)
        lang = form_lang(form)
        try:
            users.check_own_password(active.user, form.get("current_password", ""), address=address(request))
        except IdentityError as exc:
            return render(request, lang, status=400, error=exc)
        return render(request, lang, enrolment=pending.start(active.id))

    @router.post("/account/totp/confirm")
    async def confirm_totp(request: Request, active: Active = Depends(logged_in)) -> Response:
        form = await read_form(request)
        lang = form_lang(form)
        enrolment = pending.get(active.id)
        if enrolment is None:
            return render(request, lang, status=400, error="start_again")
        step = totp.matching_step(enrolment.secret, form.get("code", ""), web.clock(), None)
        if step is None:
            return render(request, lang, status=400, error="wrong_code", enrolment=enrolment)
        _, codes = users.enable_totp(active.user, actor=active.user, secret=enrolment.secret, used_step=step,
                                     keep_session=active.id)
        pending.drop(active.id)
        return render(request, lang, codes=codes)  # the only time the recovery codes are shown

    @router.post("/account/totp/disable")
    async def disable_totp(request: Request, active: Active = Depends(logged_in)) -> Response:
        form = await read_form(request)
        lang = form_lang(form)
        try:
            users.disable_totp(active.user, form.get("current_password", ""), form.get("code", ""),
                               keep_session=active.id, address=address(request))
        except IdentityError as exc:
            return render(request, lang, status=400, error=exc)
        return RedirectResponse(_back("totp_off", lang), status_code=303)

    return router


def _back(done: str, lang: str | None) -> str:
    return f"/account?done={done}" + (f"&lang={quote(lang)}" if lang else "")
