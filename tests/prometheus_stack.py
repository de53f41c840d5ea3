"""Real Prometheus and Alertmanager for tests (Debian packages), on free loopback ports, and a webhook
receiver the test runs. Each is a context manager that kills what it started."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from yaml_writer import free_port

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")


def run_tool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, cwd=cwd)


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "-/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready within {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def _process(args: list[str], log: Path, url: str) -> Iterator[str]:
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(url, proc, log)
        yield url
    finally:
        proc.kill()
        proc.wait(10)


@contextmanager
def prometheus(config: Path, workdir: Path) -> Iterator[str]:
    """Prometheus with `config` (its rule_files are relative to it); yields its base URL."""
    assert PROMETHEUS, "prometheus is not installed (Debian package prometheus)"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    args = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"]
    with _process(args, workdir / "prometheus.log", url) as ready:
        yield ready


@contextmanager
def alertmanager(config: Path, workdir: Path, port: int | None = None) -> Iterator[str]:
    assert ALERTMANAGER, "alertmanager is not installed (Debian package prometheus-alertmanager)"
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    args = [ALERTMANAGER, f"--config.file={config}", f"--storage.path={workdir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    with _process(args, workdir / "alertmanager.log", url) as ready:
        yield ready


@dataclass
class WebhookReceiver:
    """Records every JSON body POSTed to it."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def alerts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [alert for body in self.bodies for alert in body.get("alerts", [])]

    def wait_for(self, predicate: Any, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for alert in self.alerts():
                if predicate(alert):
                    return alert
            time.sleep(0.1)
        raise AssertionError(f"no {what} within {timeout}s; received: {json.dumps(self.bodies)[:3000]}")


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:  # a notifier that posts something else is still recorded
                body = {"raw": raw.decode("utf-8", "replace")}
            with receiver.lock:
                receiver.bodies.append(body)
                receiver.headers.append(dict(self.headers))
                receiver.paths.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """A FastAPI app on a real uvicorn server on a free loopback port, in a thread; yields its URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}/"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class ControllableService:
    """A service whose health endpoint answers `status`; the test flips it to make the service fail."""

    url: str = ""
    status: int = 200


@contextmanager
def controllable_service() -> Iterator[ControllableService]:
    service = ControllableService()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = b'{"status": "ok"}' if service.status < 400 else b'{"status": "failing"}'
            self.send_response(service.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}/health"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


def prometheus_value(url: str, query: str) -> list[dict[str, Any]]:
    response = httpx.get(url + "api/v1/query", params={"query": query}, timeout=5)
    response.raise_for_status()
    return list(response.json()["data"]["result"])


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.time() + timeout
    last: Any = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s (last: {str(last)[:1000]})")


@contextmanager
def alertmanager_member(args: list[str], workdir: Path) -> Iterator[str]:
    """One member of an Alertmanager cluster, started with the flags `opsplan fleet export` wrote for
    it (its web and cluster addresses, its peers); its own storage under `workdir`."""
    assert ALERTMANAGER, "alertmanager is not installed (Debian package prometheus-alertmanager)"
    listen = next(a.split("=", 1)[1] for a in args if a.startswith("--web.listen-address="))
    workdir.mkdir(parents=True, exist_ok=True)
    with _process([ALERTMANAGER, *args, f"--storage.path={workdir / 'data'}"], workdir / "alertmanager.log",
                  f"http://{listen}/") as ready:
        yield ready
