"""The web login path: GET/POST /login, POST /logout, the session cookie, and the dependencies
the console's routers use: `current_user`, `require_user`, `require_role("operator")`.

The session cookie is HttpOnly and SameSite=Strict, Secure when the request came over TLS or the
plan's public URL is https. Every unsafe request with a session must carry the session's CSRF
token (a hidden `csrf_token` field or an `X-CSRF-Token` header) and an Origin (or Referer) of this
server; the login form itself is checked by its Origin (a login CSRF needs no token to refuse).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from opsplan import format as fmt
from opsplan.i18n import LANGUAGES, t
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB, StateUnavailable
from opsplan.web.identity import sessions, trail
from opsplan.web.identity.login import NEED_CODE, OK, THROTTLED, Login
from opsplan.web.identity.models import role_at_least
from opsplan.web.identity.users import any_enabled

COOKIE = "opsplan_session"
CSRF_FIELD, CSRF_HEADER = "csrf_token", "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_FORM = 16 * 1024  # a login form is a few hundred bytes
TEMPLATES = Path(__file__).parent / "templates"
FIRST_ADMIN = "opsplan user add NAME --role admin"
LOGIN_MESSAGES = {"bad": "identity.web.bad", "need_code": "identity.web.need_code"}


@dataclass
class IdentityWeb:
    """Sessions for the web side of one plan and state DB; `clock` gives UTC unix seconds."""

    plan: Plan
    state_db: StateDB
    clock: Callable[[], float]
    login: Login

    @property
    def policy(self) -> sessions.Policy:
        return sessions.Policy(self.plan.web.session_idle, self.plan.web.session_absolute)

    # --- dependencies for the console's routers ------------------------------------------------
    def current_user(self, request: Request) -> sessions.Active | None:
        """The request's live session, or None (no cookie, ended or expired)."""
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        now = self.clock()
        try:
            with self.state_db.session() as session:
                return sessions.lookup(session, token, now, self.policy)
        except (OperationalError, StateUnavailable):
            # The state DB cannot be written (a full disk): the session is read without restarting its
            # idle clock, so the console still shows what is wrong instead of a 503.
            with self.state_db.session() as session:
                return sessions.lookup(session, token, now, self.policy, write=False)

    def require_role(self, role: str) -> Callable[[Request], Awaitable[sessions.Active]]:
        """A dependency: the logged-in user if their role is `role` or higher (401 without a
        session, 403 with a lower role); on an unsafe method also the CSRF token and the Origin."""

        async def dependency(request: Request) -> sessions.Active:
            active = await run_in_threadpool(self.current_user, request)
            if active is None:
                raise HTTPException(401, "log in first")
            if not role_at_least(active.role, role):
                raise HTTPException(403, f"this needs the {role} role")
            if request.method not in SAFE_METHODS:
                await self.check_unsafe(request, active)
            return active

        return dependency

    def require_user(self) -> Callable[[Request], Awaitable[sessions.Active]]:
        return self.require_role("viewer")

    def end_session(self, active: sessions.Active, session_id: int) -> bool:
        """End one session: the user's own, or anyone's for an admin; audited."""
        now = self.clock()
        with self.state_db.session() as session:
            ended = sessions.end_by_id(session, session_id, now,
                                       user_id=None if active.role == "admin" else active.user_id)
        if ended:
            trail.write(self.state_db, self.plan.data_dir, at=now, actor=active.user, action="session.end",
                        arguments={"session": session_id})
        return ended

    async def check_unsafe(self, request: Request, active: sessions.Active) -> None:
        check_origin(request, self.plan)
        given = request.headers.get(CSRF_HEADER)
        if given is None:
            given = (await read_form(request)).get(CSRF_FIELD, "")
        if not given or not hmac.compare_digest(given.encode("utf-8"), active.csrf_secret.encode("utf-8")):
            raise HTTPException(403, "missing or wrong CSRF token")


def check_origin(request: Request, plan: Plan) -> None:
    """403 unless the request's Origin (or, without one, its Referer) is this server."""
    claimed = request.headers.get("origin") or _origin_of(request.headers.get("referer") or "")
    if not claimed or claimed == "null":
        raise HTTPException(403, "missing Origin header")
    allowed = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    if plan.web.public_url:
        allowed.add(_origin_of(plan.web.public_url))
    if claimed.rstrip("/") not in allowed:
        raise HTTPException(403, "cross-origin request refused")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form's first value of each field (no multipart: the login form needs none)."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    body = await request.body()
    if len(body) > MAX_FORM:
        raise HTTPException(413, "form too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "malformed form") from None
    return {k: v[0] for k, v in fields.items()}


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this server only (never `//host` or a full URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return "/"
    return value


def _secure(request: Request, plan: Plan) -> bool:
    return request.url.scheme == "https" or (plan.web.public_url or "").startswith("https://")


def identity_router(web: IdentityWeb) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

    def page(lang: str, status: int, *, message: str = "", name: str = "", ask_code: bool = False,
             next_path: str = "/", headers: dict[str, str] | None = None) -> HTMLResponse:
        # With no user yet, say how to make the first admin (only the command line can).
        no_users = "" if any_enabled(web.state_db) else t("identity.web.no_users", lang, command=FIRST_ADMIN)
        html = templates.get_template("login.html").render(
            next=safe_next(next_path), no_users=no_users,
            lang=lang, title=t("identity.web.title", lang), name_label=t("identity.web.name", lang),
            password_label=t("identity.web.password", lang), code_label=t("identity.web.code", lang),
            submit=t("identity.web.submit", lang), message=message, name=name, ask_code=ask_code)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})

    def language(value: str | None) -> str:
        if value is None or value == "":
            return web.plan.language
        if value not in LANGUAGES:
            raise HTTPException(400, f"lang must be one of {', '.join(LANGUAGES)}")
        return value

    @router.get("/login")
    def login_form(lang: str | None = None, next: str | None = None) -> HTMLResponse:  # noqa: A002 - the query's name
        return page(language(lang), 200, next_path=next or "/")

    @router.post("/login")
    async def login_submit(request: Request) -> Response:
        check_origin(request, web.plan)
        form = await read_form(request)
        lang = language(form.get("lang"))
        name = form.get("name", "")[:100]
        address = request.client.host if request.client else None
        outcome = await run_in_threadpool(web.login.attempt, name, form.get("password", ""),
                                          code=form.get("code") or None, address=address)
        next_path = safe_next(form.get("next"))
        if outcome.result == OK and outcome.session_token:
            response = RedirectResponse(next_path, status_code=303)
            response.set_cookie(COOKIE, outcome.session_token, httponly=True, samesite="strict",
                                secure=_secure(request, web.plan), path="/",
                                max_age=int(web.plan.web.session_absolute))
            return response
        if outcome.result == THROTTLED:
            wait = max(1, int(outcome.retry_after or 1))
            message = t("identity.web.throttled", lang, duration=fmt.duration(wait, language=lang))
            return page(lang, 429, message=message, next_path=next_path, headers={"Retry-After": str(wait)})
        key = LOGIN_MESSAGES["need_code" if outcome.result == NEED_CODE else "bad"]
        return page(lang, 401, message=t(key, lang), name=name, ask_code=outcome.result == NEED_CODE,
                    next_path=next_path)

    @router.get("/sessions")
    def session_list(request: Request, lang: str | None = None) -> Response:
        """The user's own live sessions (an admin sees everyone's), each with a button to end it."""
        language_ = language(lang)
        active = web.current_user(request)
        if active is None:
            return RedirectResponse("/login", status_code=303)
        with web.state_db.session() as session:
            rows = sessions.live(session, web.clock(), web.policy,
                                 None if active.role == "admin" else active.user_id)
        tz = web.plan.timezone
        shown = [{"id": r["id"], "user": r["user"], "address": r["address"] or "-",
                  "created": fmt.local_time(float(r["created_at"]), tz, zone_name=True),  # type: ignore[arg-type]
                  "last_seen": fmt.local_time(float(r["last_seen_at"]), tz, zone_name=True),  # type: ignore[arg-type]
                  "current": r["id"] == active.id} for r in rows]
        html = templates.get_template("sessions.html").render(
            lang=language_, title=t("identity.web.sessions", language_), rows=shown, csrf=active.csrf_secret,
            columns=t("identity.cli.session_columns", language_).split("|")[1:],
            end=t("identity.web.end", language_), current=t("identity.web.current", language_),
            empty=t("identity.cli.no_sessions", language_), logout=t("identity.web.logout", language_))
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @router.post("/sessions/{session_id}/end")
    async def session_end(request: Request, session_id: int) -> Response:
        active = await run_in_threadpool(web.current_user, request)
        if active is None:
            raise HTTPException(401, "log in first")
        await web.check_unsafe(request, active)
        ended = await run_in_threadpool(web.end_session, active, session_id)
        if not ended:
            raise HTTPException(404, "no such live session of yours")
        return RedirectResponse("/sessions", status_code=303)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        active = await run_in_threadpool(web.current_user, request)
        if active is None:
            raise HTTPException(401, "log in first")
        await web.check_unsafe(request, active)
        await run_in_threadpool(web.login.logout, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request, web.plan))
        return response

    return router


def build_identity_web(plan: Plan, state_db: StateDB, clock: Callable[[], float], **login: Any) -> IdentityWeb:
    return IdentityWeb(plan, state_db, clock, Login(state_db, plan.data_dir, clock, **login))
