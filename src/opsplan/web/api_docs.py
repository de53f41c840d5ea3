"""/api/docs: Swagger UI from files installed with opsplan (the swagger-ui-bundle package).

FastAPI's own docs page loads Swagger UI from a public CDN: the operator's browser would fetch
code from a third party to show a page of this server, and the page would not work offline. Here
every file comes from this process, and the page starts Swagger UI from a file rather than an
inline script, so its Content-Security-Policy (web/headers.py) can forbid inline code.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from swagger_ui_bundle import swagger_ui_path

STATIC = Path(__file__).parent / "static"
# Only what the page loads; the bundle's demo index.html (which fetches a public example) is not served.
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
          "favicon-32x32.png": "image/png"}


def api_docs_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/api/docs")
    def docs_page() -> FileResponse:
        return FileResponse(STATIC / "api-docs.html", media_type="text/html; charset=utf-8")

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
