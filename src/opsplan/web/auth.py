"""Bearer-token check for the write endpoints (ack, silences, Alertmanager's webhook); reads stay open.

Two kinds of token are accepted:
- a per-user API token (`opsplan user token create`, web/identity/tokens.py): it must have the
  write scope and belong to an enabled operator or admin; the request then acts as that user
  (`request.state.principal`);
- the shared token of the plan (deprecated; one deprecation line is logged the first time it is
  used): from the environment variable `web.api_token_env`, else the 0600 file
  `web.api_token_file`, read on each request so a rotated token takes effect without a restart.
- a console session (cookie), checked by the identity stage's `require_role("operator")`: role,
  CSRF token and Origin.
With neither a shared token configured nor a state DB to hold user tokens, the write API is off
(403), not open.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from opsplan.errors import SecretError
from opsplan.plan.models import Web
from opsplan.plan.secrets import read_secret_file
from opsplan.store.state import StateDB
from opsplan.web.identity import tokens
from opsplan.web.identity.models import role_at_least
from opsplan.web.identity.routes import COOKIE as SESSION_COOKIE

log = logging.getLogger(__name__)

SHARED = "shared-token"  # the actor of a write made with the shared token: nobody in particular


@dataclass(frozen=True, slots=True)
class WriteCaller:
    """Who a write request acts as (`request.state.principal`): a user, or the shared token."""

    user: str
    role: str | None
    token_id: int | None


def configured_token(web: Web, environ: Mapping[str, str]) -> str | None:
    if web.api_token_env:
        value = environ.get(web.api_token_env)
        if value:
            return value
    if web.api_token_file is not None:
        return read_secret_file(web.api_token_file, "API token")
    return None


class _Once:
    def __init__(self) -> None:
        self.done = False
        self.lock = threading.Lock()

    def first(self) -> bool:
        with self.lock:
            first, self.done = not self.done, True
            return first


class LoggedIn(Protocol):
    """What a session check gives back (web/identity/sessions.py `Active` is one)."""

    @property
    def user(self) -> str: ...

    @property
    def role(self) -> str: ...


def bearer_auth(web: Web, environ: Mapping[str, str] = os.environ, state_db: StateDB | None = None,
                clock: Callable[[], float] = time.time,
                session_check: Callable[[Request], Awaitable[LoggedIn]] | None = None) -> Callable[..., Any]:
    """A FastAPI dependency: 401 when the request's token is missing or wrong, 403 when it is a user
    token that may not write, or when no shared token is configured and no user tokens can exist.

    With `session_check` (the identity stage's `IdentityWeb.require_role("operator")`), a browser
    request without an Authorization header but with a console session cookie is checked by it
    instead: role, CSRF token and Origin."""
    variable = web.api_token_env or "OPSPLAN_API_TOKEN"
    warned = _Once()

    async def require_token(request: Request, authorization: str | None = Header(default=None)) -> None:
        if authorization is None and session_check is not None and request.cookies.get(SESSION_COOKIE):
            active = await session_check(request)
            request.state.principal = WriteCaller(active.user, active.role, None)
            return
        scheme, _, given = (authorization or "").partition(" ")
        given = given.strip()
        if state_db is not None and scheme.lower() == "bearer" and given.startswith(tokens.PREFIX):
            request.state.principal = await run_in_threadpool(_user_token, state_db, given, clock())
            return
        try:
            expected = configured_token(web, environ)
        except SecretError as exc:  # a shared token file that is unsafe: say so (user tokens still work)
            raise HTTPException(403, f"write API disabled: {exc}") from None
        if not expected and state_db is None:
            raise HTTPException(403, f"write API disabled: set {variable}")
        if not expected or scheme.lower() != "bearer" or not given or not hmac.compare_digest(
                given.encode("utf-8"), expected.encode("utf-8")):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
        if warned.first():
            log.warning("the shared API token (%s) is deprecated: give each script its own token with "
                        "`opsplan user token create NAME --scope write`", variable)
        request.state.principal = WriteCaller(SHARED, None, None)

    return require_token


def _user_token(state_db: StateDB, given: str, now: float) -> WriteCaller:
    with state_db.session() as session:
        principal = tokens.authenticate(session, given, now)
    if principal is None:
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
    if principal.scope != "write":
        raise HTTPException(403, "this API token is read-only")
    if not role_at_least(principal.role, "operator"):
        raise HTTPException(403, "this user's role may not write")
    return WriteCaller(principal.user, principal.role, principal.token_id)
