"""/api/docs: Swagger UI from files installed with opsplan (the swagger-ui-bundle package), and the
schema it reads, /api/v1/openapi.json, both for logged-in users only.

FastAPI's own docs page loads Swagger UI from a public CDN: the operator's browser would fetch
code from a third party to show a page of this server, and the page would not work offline. Here
every file comes from this process, and the page starts Swagger UI from a file rather than an
inline script, so its Content-Security-Policy (web/headers.py) can forbid inline code.

The schema is a map of every route and parameter: it is given to a console session or a valid
API token (any scope) only, as the pages are. Anonymous, the page sends the browser to /login and
the schema answers 401. Without logins (monitoring only) both are open on a loopback bind, as the
pages are, and refused on any other address. Swagger UI's own files (its script and style) are
the library's, the same for everyone, and stay open.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from swagger_ui_bundle import swagger_ui_path

from opsplan.web.console.frame import Console
from opsplan.web.identity import tokens

STATIC = Path(__file__).parent / "static"
SCHEMA_PATH = "/api/v1/openapi.json"
SWAGGER_SCHEMA_PATH = "/api/docs/openapi.json"
SWAGGER_UI_OPENAPI = "3.0.3"  # the newest version the packaged Swagger UI reads
# Only what the page loads; the bundle's demo index.html (which fetches a public example) is not served.
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
          "favicon-32x32.png": "image/png"}


def may_read_docs(console: Console, request: Request) -> bool:
    """A console session, or `Authorization: Bearer opsp_...` of an enabled user; open only where
    the console's pages are open (no logins, loopback bind)."""
    identity = console.identity
    if identity is None:
        return console.open_reads
    if identity.current_user(request) is not None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip().startswith(tokens.PREFIX):
        return False
    with identity.state_db.session() as session:
        return tokens.authenticate(session, given.strip(), identity.clock()) is not None


def api_docs_router(console: Console, schema: Callable[[], dict[str, Any]]) -> APIRouter:
    """`schema` gives the app's OpenAPI document (FastAPI's `app.openapi`, built once and kept)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/api/docs")
    async def docs_page(request: Request) -> Response:
        if not await run_in_threadpool(may_read_docs, console, request):
            if console.identity is None:  # nobody could log in: say so rather than send to a missing form
                raise HTTPException(503, "the console's logins are off (the state database could not be opened)")
            return RedirectResponse("/login?next=" + quote("/api/docs", safe=""), status_code=303)
        return FileResponse(STATIC / "api-docs.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-store"})

    @router.get(SCHEMA_PATH)
    async def openapi_schema(request: Request) -> JSONResponse:
        if not await run_in_threadpool(may_read_docs, console, request):
            raise HTTPException(401, "log in, or send an API token, to read the API schema",
                                headers={"WWW-Authenticate": "Bearer"})
        return JSONResponse(schema(), headers={"Cache-Control": "no-store"})

    @router.get(SWAGGER_SCHEMA_PATH)
    async def schema_for_swagger_ui(request: Request) -> JSONResponse:
        """The same schema labelled OpenAPI 3.0: the packaged Swagger UI (4.15) refuses to render a
        document that says 3.1 (FastAPI's), and renders this one whole. Tools read SCHEMA_PATH."""
        if not await run_in_threadpool(may_read_docs, console, request):
            raise HTTPException(401, "log in, or send an API token, to read the API schema",
                                headers={"WWW-Authenticate": "Bearer"})
        return JSONResponse({**schema(), "openapi": SWAGGER_UI_OPENAPI}, headers={"Cache-Control": "no-store"})

    @router.get("/api/docs/init.js")
    def docs_init() -> FileResponse:
        return FileResponse(STATIC / "api-docs-init.js", media_type="text/javascript")

    @router.get("/api/docs/assets/{name}")
    def docs_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404, "not found")
        return FileResponse(Path(str(swagger_ui_path)) / name, media_type=media_type)

    return router
