"""Security headers on every answer of `opsplan serve`.

The console's pages load their stylesheets and scripts from this server only (web/static, the
vendored htmx and uPlot included) and carry no inline script, style or event handler; the API
answers JSON. So the policy can be strict: nothing from elsewhere, no inline code, images from
here or data: URIs (charts), forms posted only back here, never inside a frame. A page that needs
more moves its code to a static file; tests/unit/test_security_headers.py checks every HTML route. The
API docs page (Swagger UI, served from local files) needs its own script and images as data:
URIs, and applies inline styles, so it gets a policy of its own, still same-origin only.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# connect-src 'self': the overview's vendored htmx (a static file) fetches /overview to refresh.
PAGE_CSP = ("default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
DOCS_PREFIX = "/api/docs"

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: under no-referrer chromium posts a form with `Origin: null`, which
    # the console's Origin check must refuse (tests/e2e/test_console_flows.py); other sites still get nothing.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeaders:
    """Pure ASGI middleware (streams and background tasks pass through untouched)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope.get("path", "").startswith(DOCS_PREFIX) else PAGE_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp)
            await send(message)

        await self.app(scope, receive, send_with_headers)
