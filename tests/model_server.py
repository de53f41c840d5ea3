"""A small stand-in for a model server (vLLM's /health, /v1/models, /v1/completions) on 127.0.0.1.

It loads the model through a symlink, like vLLM started on /srv/ai/models/current: at start and on
each GET /admin/reload it resolves the link and reads `model.json` ({"name": ...}) from the
directory it points to. What it reports as loaded is therefore what the link pointed to at the
last reload. A test makes one model version slow with `server.delays[name] = seconds`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class ModelServer:
    def __init__(self, link: Path):
        self.link = link
        self.loaded: str | None = None
        self.loaded_dir: str | None = None
        self.reloads = 0
        self.delays: dict[str, float] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append(f"GET {self.path}")
                if self.path == "/admin/reload":
                    server.reload()
                    self._send(200 if server.loaded else 500, {"loaded": server.loaded})
                elif self.path == "/health":
                    self._send(200 if server.loaded else 503, {})
                elif self.path == "/v1/models":
                    server.pause()
                    self._send(200, {"object": "list", "data": [{"id": server.loaded}]})
                else:
                    self._send(404, {})

            def do_POST(self) -> None:  # noqa: N802
                server.requests.append(f"POST {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/v1/completions" and server.loaded:
                    server.pause()
                    self._send(200, {"model": server.loaded, "choices": [{"text": f"echo {body.get('prompt')}"}]})
                else:
                    self._send(404 if server.loaded else 503, {})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def reload(self) -> None:
        self.reloads += 1
        try:
            target = os.path.realpath(self.link)
            self.loaded = json.loads((Path(target) / "model.json").read_text())["name"]
            self.loaded_dir = target
        except (OSError, ValueError, KeyError):
            self.loaded, self.loaded_dir = None, None

    def pause(self) -> None:
        delay = self.delays.get(self.loaded or "", 0.0)
        if delay:
            time.sleep(delay)

    def reload_command(self) -> list[str]:
        """The plan's reload_command for this server: an argument list, no shell."""
        return [sys.executable, "-c", "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)",
                f"{self.url}/admin/reload"]

    def __enter__(self) -> ModelServer:
        self.reload()
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
