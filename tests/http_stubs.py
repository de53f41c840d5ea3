"""Small real HTTP servers on 127.0.0.1 (free ports) that the serve tests point opsplan at."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Service:
    """An API whose health probe answers 200 until the test makes it fail (500)."""

    def __init__(self) -> None:
        self.healthy = True
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200 if owner.healthy else 500)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"


class Webhook:
    """Records what apprise's json:// posts."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def heard(self, alert: str, kind: str) -> list[dict]:
        """The posts about `alert` that announce it firing (kind "firing") or resolved."""
        wanted = "success" if kind == "resolved" else "failure"
        return [p for p in self.posts if alert in p.get("title", "") and p.get("type") == wanted]
