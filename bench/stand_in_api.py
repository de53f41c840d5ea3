"""A stand-in for the served API in its own process: /health and a Prometheus /metrics page.

HTTP/1.1 with keep-alive, as vLLM and uvicorn serve, so the probe reuses its connection as it
would in production.  Usage: python bench/stand_in_api.py PORT
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

METRICS_BODY = (
    "# TYPE http_requests_total counter\n"
    'http_requests_total{status="200"} 1000\nhttp_requests_total{status="500"} 3\n'
    "# TYPE http_request_duration_seconds histogram\n"
    + "".join(f'http_request_duration_seconds_bucket{{le="{le}"}} {n}\n'
              for le, n in (("0.1", 500), ("0.5", 900), ("1", 990), ("2", 1000), ("+Inf", 1003)))
    + "http_request_duration_seconds_sum 300\nhttp_request_duration_seconds_count 1003\n"
).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = METRICS_BODY if self.path == "/metrics" else b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
