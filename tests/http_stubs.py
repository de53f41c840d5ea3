"""Small real HTTP servers on 127.0.0.1 (free ports), or on a unix socket, that tests point opsplan at."""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


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


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class DockerEngine:
    """A stand-in for the Docker Engine API on a unix socket: the two calls opsplan makes
    (`/containers/json?all=1`, `/containers/{id}/json`), answered from `containers`, a list of
    inspect documents (Id, Name, State, RestartCount, HostConfig). `garbage` makes it answer
    something that is not the Engine API."""

    def __init__(self, socket_path: Path, containers: list[dict]) -> None:
        self.containers = containers
        self.garbage: bytes | None = None
        self.requests: list[str] = []
        self.socket_path = socket_path
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.requests.append(self.path)
                if owner.garbage is not None:
                    self._send(200, owner.garbage)
                    return
                if self.path == "/containers/json?all=1":
                    self._json(200, [owner.summary(c) for c in owner.containers])
                    return
                for c in owner.containers:
                    if self.path == f"/containers/{c['Id']}/json":
                        self._json(200, c)
                        return
                self._json(404, {"message": "No such container"})

            def _json(self, status: int, body: object) -> None:
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def address_string(self) -> str:
                return "unix"

            def log_message(self, *args: object) -> None:
                pass

        self.server = _UnixHTTPServer(str(socket_path), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def summary(inspect: dict) -> dict:
        """The list entry Docker gives for a container (a subset of its inspect document)."""
        running = inspect["State"]["Running"]
        health = inspect["State"].get("Health", {}).get("Status")
        status = "Up 5 minutes" if running else "Exited (1) 2 minutes ago"
        if running and health:  # as `docker ps` writes it
            status += " (health: starting)" if health == "starting" else f" ({health})"
        return {"Id": inspect["Id"], "Names": [inspect["Name"]], "Image": "stand-in",
                "State": "running" if running else "exited", "Status": status}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
