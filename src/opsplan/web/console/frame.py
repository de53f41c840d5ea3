"""The console's frame: who is asking, in which language, and the page around each page's content.

Every console page renders through `Console.page`: it finds the session, sends a browser without
one to /login (and back afterwards), picks the language (`?lang=`, else the user's own, else the
plan's), and gives the template what the frame shows (navigation, the user and role, the logout
form with its CSRF token). Stages add their pages to the navigation with `add_page`, so the
incidents and reports stages plug their pages into the same frame.

With no identity stage (the state database could not be opened: monitoring only), pages are
read-only and open on a loopback bind, and refused on any other address: nobody could log in.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from opsplan import format as fmt
from opsplan.i18n import LANGUAGES, t
from opsplan.net import is_loopback
from opsplan.plan.models import Plan
from opsplan.web.identity.models import role_at_least
from opsplan.web.identity.routes import IdentityWeb
from opsplan.web.identity.sessions import Active

# The identity package's templates too: its Account page renders in this frame (web/identity/account.py).
TEMPLATES = (Path(__file__).parent / "templates", Path(__file__).parent.parent / "templates",
             Path(__file__).parent.parent / "identity" / "templates")
ROLE_KEYS = {"viewer": "identity.role.viewer", "operator": "identity.role.operator", "admin": "identity.role.admin"}
# Each page's name in the navigation, by path: a page a stage adds brings its entry here.
NAV_LABELS = {
    "/": "console.nav.overview",
    "/charts": "console.nav.charts",
    "/alerts": "console.nav.alerts",
    "/backups": "console.nav.backups",
    "/runbooks": "console.nav.runbooks",
    "/incidents": "console.nav.incidents",
    "/reports": "console.nav.reports",
    "/plan": "console.nav.plan",
    "/api/docs": "console.nav.api_docs",
}


@dataclass(frozen=True, slots=True)
class NavItem:
    """One page in the console's navigation: its path (named in NAV_LABELS), where it sorts, and
    the role that may open it (a viewer never sees a link to an admin's page)."""

    path: str
    order: int
    role: str = "viewer"


class BadLanguage(Exception):
    def __init__(self, given: str) -> None:
        super().__init__(given)
        self.given = given


@dataclass
class PageContext:
    """What a page's builder is given: the language chosen, the user (None on an open console)."""

    language: str
    user: Active | None
    request: Request

    @property
    def may_operate(self) -> bool:
        return self.user is not None and role_at_least(self.user.role, "operator")

    @property
    def is_admin(self) -> bool:
        return self.user is not None and role_at_least(self.user.role, "admin")


@dataclass
class Console:
    plan: Plan
    identity: IdentityWeb | None
    nav: list[NavItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.templates = Environment(loader=ChoiceLoader([FileSystemLoader(p) for p in TEMPLATES]),
                                     autoescape=select_autoescape(["html"]))
        self.templates.filters.update(percent=fmt.percent, size=fmt.size, number=fmt.number,
                                      seconds=fmt.seconds, duration=fmt.duration)
        for item in (NavItem("/", 0), NavItem("/alerts", 20)):
            self.add_page(item)

    def add_page(self, item: NavItem) -> None:
        if item.path not in NAV_LABELS:
            raise ValueError(f"console page {item.path!r} has no name in NAV_LABELS")
        self.nav = sorted([*(n for n in self.nav if n.path != item.path), item], key=lambda n: (n.order, n.path))

    # --- who and which language --------------------------------------------------------------
    def user(self, request: Request) -> Active | None:
        return self.identity.current_user(request) if self.identity is not None else None

    def language(self, lang: str | None, user: Active | None) -> str:
        """`?lang=` (ko or en only: a typo'd link is told so), else the user's, else the plan's."""
        if lang not in (None, "", *LANGUAGES):
            raise BadLanguage(str(lang))
        if lang:
            return lang
        if user is not None and user.language in LANGUAGES:
            return str(user.language)
        return self.plan.language

    @property
    def open_reads(self) -> bool:
        """Without logins, pages are shown only on a loopback bind (where only this box can ask)."""
        return self.identity is None and is_loopback(self.plan.web.bind)

    def _admitted(self, request: Request, lang: str | None, role: str) -> tuple[Any, str] | Response:
        """(the user, the language) of a request a page or a download answers; else why not (the login
        page, 403, or 400 for a `?lang=` that is neither ko nor en)."""
        user = self.user(request)
        refused = self._refused(request, user, role)
        if refused is not None:
            return refused
        try:
            return user, self.language(lang, user)
        except BadLanguage as exc:
            return _bad_language(exc)

    # --- rendering ---------------------------------------------------------------------------
    def page(self, request: Request, template: str, lang: str | None,
             build: Callable[[PageContext], Mapping[str, Any]], *, role: str = "viewer",
             status_code: int = 200) -> Response:
        """The page `template` in the frame, for a user of `role` or higher; `build` gives its content."""
        admitted = self._admitted(request, lang, role)
        if isinstance(admitted, Response):
            return admitted
        user, language = admitted
        context = PageContext(language, user, request)
        html = self.templates.get_template(template).render(**self.frame(context), **build(context))
        # no-store: a page holds the session's CSRF token and what the box looks like now.
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})

    def attachment(self, request: Request, lang: str | None, build: Callable[[str], Attachment | Response], *,
                   role: str = "viewer") -> Response:
        """A file to download (a report, a postmortem), behind the same login as the pages: `build`
        makes it in the chosen language (or answers why not). Served as an attachment, never shown in
        the console's origin."""
        admitted = self._admitted(request, lang, role)
        if isinstance(admitted, Response):
            return admitted
        made = build(admitted[1])
        if isinstance(made, Response):
            return made
        headers = {"Content-Disposition": f'attachment; filename="{made.filename}"', "Cache-Control": "no-store"}
        if made.media_type.startswith("text/html"):
            # Should a browser show it here anyway: it runs nothing and loads nothing (as the report page).
            headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        return Response(made.body, media_type=made.media_type, headers=headers)

    def _refused(self, request: Request, user: Active | None, role: str) -> Response | None:
        """The answer to a browser that may not see this: to /login without a session, 403 below `role`."""
        if user is None and not self.open_reads:
            if self.identity is None:
                return PlainTextResponse(" / ".join(t("console.logins_unavailable", each) for each in LANGUAGES)
                                         + "\n", 503)
            if request.headers.get("hx-request") == "true":
                # A fragment's refresh after the session ended: htmx would swap the login form into the
                # page; it sends the whole tab there instead, and back to the page after logging in.
                back = _path_of(request.headers.get("hx-current-url") or "") or "/"
                return Response(status_code=401, headers={"HX-Redirect": "/login?next=" + quote(back, safe="")})
            return RedirectResponse("/login?next=" + quote(_local_path(request), safe=""), status_code=303)
        if user is not None and not role_at_least(user.role, role):
            raise HTTPException(403, f"this page needs the {role} role")
        return None

    def frame(self, context: PageContext) -> dict[str, Any]:
        user, language = context.user, context.language
        role = user.role if user is not None else "viewer"
        return {
            "t": partial(t, language=language), "lang": language, "user": user,
            "role": t(ROLE_KEYS[user.role], language) if user is not None else "",
            "csrf": user.csrf_secret if user is not None else "",
            "may_operate": context.may_operate, "is_admin": context.is_admin,
            "logins": self.identity is not None, "server": self.plan.server.name,
            "nav": [{"path": n.path, "label": t(NAV_LABELS[n.path], language)}
                    for n in self.nav if role_at_least(role, n.role)],
            "here": context.request.url.path, "refresh": max(int(self.plan.monitoring.interval), 5),
            "lang_links": {each: _with_language(context.request, each) for each in LANGUAGES},
            "timezone": self.plan.timezone,
        }


@dataclass(frozen=True)
class Attachment:
    """A file the console hands out: its bytes, its media type and a plain ASCII file name."""

    body: bytes
    media_type: str
    filename: str

    def __post_init__(self) -> None:
        if not _SAFE_NAME.fullmatch(self.filename):  # it goes into a header between quotes
            raise ValueError(f"unsafe download name {self.filename!r}")


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


def safe_name(*parts: object) -> str:
    """A download's file name from its parts ('opsplan', 'report', 7, 'daily', 'ko'): letters, digits
    and dashes only, joined by dashes (a stored period or a title cannot put a quote or a path in it)."""
    cleaned = [re.sub(r"[^A-Za-z0-9]+", "-", str(p)).strip("-") for p in parts]
    return "-".join(c for c in cleaned if c)[:100] or "opsplan"


def _bad_language(exc: BadLanguage) -> Response:
    said = [t("status.lang_unsupported", each, lang=exc.given[:20]) for each in LANGUAGES]
    return PlainTextResponse(" / ".join(said) + "\n", 400)


def _with_language(request: Request, language: str) -> str:
    """This page in `language`, its other query parameters (a chart's range, a filter) kept."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + "?" + urlencode([*kept, ("lang", language)])


def _path_of(url: str) -> str:
    """The path and query of a URL (the login form's `next` takes a path on this server only)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _local_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def operator_only(identity: IdentityWeb | None) -> Callable[[Request], Awaitable[Active]]:
    """`require_role("operator")` for a page's forms, with 403 (not 401) for a form posted without a
    session; without the identity stage nobody may write from a page."""
    if identity is None:
        async def refused(_request: Request) -> Active:
            raise HTTPException(403, "the console's logins are off")
        return refused
    check = identity.require_role("operator")

    async def operator(request: Request) -> Active:
        try:
            return await check(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                raise HTTPException(403, "log in as an operator first") from None
            raise

    return operator
