"""Bearer-token check for the write endpoints (ack, silences); reads stay open.

The token comes from the environment variable `web.api_token_env`, else the 0600 file
`web.api_token_file`, read on each request so a rotated token takes effect without a restart.
No token configured means the write API is off (403), not open.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping

from fastapi import Header, HTTPException

from opsplan.errors import SecretError
from opsplan.plan.models import Web
from opsplan.plan.secrets import read_secret_file


def configured_token(web: Web, environ: Mapping[str, str]) -> str | None:
    if web.api_token_env:
        value = environ.get(web.api_token_env)
        if value:
            return value
    if web.api_token_file is not None:
        return read_secret_file(web.api_token_file, "API token")
    return None


def bearer_auth(web: Web, environ: Mapping[str, str] = os.environ) -> Callable[..., None]:
    """A FastAPI dependency: 403 when no token is configured, 401 when the request's is missing or wrong."""
    variable = web.api_token_env or "OPSPLAN_API_TOKEN"

    def require_token(authorization: str | None = Header(default=None)) -> None:
        try:
            expected = configured_token(web, environ)
        except SecretError as exc:
            raise HTTPException(403, f"write API disabled: {exc}") from None
        if not expected:
            raise HTTPException(403, f"write API disabled: set {variable}")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip() or not hmac.compare_digest(
                given.strip().encode("utf-8"), expected.encode("utf-8")):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    return require_token
