"""The services collector against real HTTP(S) servers on loopback: probes, a service's own
Prometheus endpoint (vLLM and generic styles) and TLS certificate expiry."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from opsplan.collectors.services import METRICS, ServicesCollector
from opsplan.metrics import Sample
from opsplan.plan.models import AccessLog, Service

BUCKETS = (0.5, 1.0, 2.0, 5.0, float("inf"))


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


@dataclass
class Histogram:
    counts: list[float] = field(default_factory=lambda: [0.0] * len(BUCKETS))
    total: float = 0.0

    def observe(self, seconds: float, n: int = 1) -> None:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[i] += n
        self.total += seconds * n

    def lines(self, name: str, labels: str = "") -> list[str]:
        sep = "," if labels else ""
        out = [f'{name}_bucket{{{labels}{sep}le="{_le(b)}"}} {c}' for b, c in zip(BUCKETS, self.counts, strict=True)]
        out.append(f"{name}_count{{{labels}}} {self.counts[-1]}")
        out.append(f"{name}_sum{{{labels}}} {self.total}")
        return out


@dataclass
class VllmMetrics:
    success: dict[str, float] = field(default_factory=lambda: {"stop": 0.0, "length": 0.0, "abort": 0.0})
    latency: Histogram = field(default_factory=Histogram)
    running: float = 0
    waiting: float = 0

    def render(self) -> str:
        lines = ["# HELP vllm:request_success_total Count of successfully processed requests.",
                 "# TYPE vllm:request_success_total counter"]
        lines += [f'vllm:request_success_total{{finished_reason="{r}",model_name="qwen"}} {v}'
                  for r, v in self.success.items()]
        lines += ["# TYPE vllm:e2e_request_latency_seconds histogram"]
        lines += self.latency.lines("vllm:e2e_request_latency_seconds", 'model_name="qwen"')
        for gauge, v in (("vllm:num_requests_running", self.running), ("vllm:num_requests_waiting", self.waiting)):
            lines += [f"# TYPE {gauge} gauge", f'{gauge}{{model_name="qwen"}} {v}']
        return "\n".join(lines) + "\n"


@dataclass
class GenericMetrics:
    """prometheus-fastapi-instrumentator style: status grouped as 2xx/5xx, per handler."""

    requests: dict[tuple[str, str], float] = field(default_factory=dict)
    latency: dict[str, Histogram] = field(default_factory=dict)

    def add(self, handler: str, status: str, n: int, seconds: float) -> None:
        self.requests[(handler, status)] = self.requests.get((handler, status), 0.0) + n
        self.latency.setdefault(handler, Histogram()).observe(seconds, n)

    def render(self) -> str:
        lines = ["# TYPE http_requests_total counter"]
        lines += [f'http_requests_total{{handler="{h}",method="GET",status="{s}"}} {v}'
                  for (h, s), v in self.requests.items()]
        lines += ["# TYPE http_request_duration_seconds histogram"]
        for handler, hist in self.latency.items():
            lines += hist.lines("http_request_duration_seconds", f'handler="{handler}",method="GET"')
        return "\n".join(lines) + "\n"


@dataclass
class Behaviour:
    health_status: int = 200
    health_delay: float = 0.0
    render: Callable[[], str] = lambda: ""
    on_request: Callable[[str], None] = lambda path: None
    release: threading.Event = field(default_factory=threading.Event)


def start_server(behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            behaviour.on_request(self.path)
            if self.path == "/health":
                if behaviour.health_delay:
                    behaviour.release.wait(behaviour.health_delay)
                self._reply(behaviour.health_status, b"ok")
            elif self.path == "/metrics":
                self._reply(200, behaviour.render().encode(), "text/plain; version=0.0.4")
            elif self.path == "/moved":
                self._redirect("/health")
            elif self.path == "/elsewhere":
                self._redirect("http://example.invalid/health")
            else:
                self._reply(404, b"no")

        def _reply(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"{scheme}://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def behaviour() -> Iterator[Behaviour]:
    b = Behaviour()
    yield b
    b.release.set()


@pytest.fixture
def server(behaviour: Behaviour) -> Iterator[str]:
    srv, base = start_server(behaviour)
    yield base
    behaviour.release.set()
    srv.shutdown()
    srv.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [s.value for s in samples if s.name == name and all(s.label(k) == v for k, v in labels.items())]
    assert len(found) <= 1, f"{name} {labels} emitted {len(found)} times"
    return found[0] if found else None


def test_every_emitted_name_is_declared(server: str, behaviour: Behaviour) -> None:
    vllm = VllmMetrics()
    behaviour.render = vllm.render
    collector = ServicesCollector([Service(name="llm", url=f"{server}/health", metrics_url=f"{server}/metrics")])
    try:
        for _ in range(2):
            vllm.success["stop"] += 3
            vllm.latency.observe(0.7, 3)
            samples = collector.collect()
    finally:
        collector.close()
    assert {s.name for s in samples} <= set(METRICS)
    assert {"opsplan_api_up", "opsplan_api_requests_per_second", "opsplan_api_response_seconds"} <= {
        s.name for s in samples}


def test_vllm_endpoint_rate_error_ratio_and_quantiles(server: str, behaviour: Behaviour) -> None:
    vllm = VllmMetrics()
    # History from before opsplan started: slow requests that must not leak into the quantiles.
    vllm.success["stop"] = 5000
    vllm.latency.observe(4.0, 5000)
    behaviour.render = vllm.render
    clock = Clock()
    collector = ServicesCollector([Service(name="llm", url=f"{server}/health", metrics_url=f"{server}/metrics")],
                                  clock=clock)
    try:
        first = collector.collect()
        assert value(first, "opsplan_api_up", service="llm") == 1
        assert value(first, "opsplan_api_metrics_up", service="llm") == 1
        assert value(first, "opsplan_api_requests_per_second", service="llm") is None  # one scrape: no rate

        # 200 requests in 20 s, 4 aborted; 100 took <=0.5 s, 80 <=1 s, 15 <=2 s, 5 <=5 s.
        vllm.success["stop"] += 150
        vllm.success["length"] += 46
        vllm.success["abort"] += 4
        vllm.latency.observe(0.3, 100)
        vllm.latency.observe(0.8, 80)
        vllm.latency.observe(1.5, 15)
        vllm.latency.observe(3.0, 5)
        vllm.running, vllm.waiting = 7, 3
        clock.now += 20
        s = collector.collect()
        assert value(s, "opsplan_api_requests_per_second", service="llm") == pytest.approx(10.0)
        assert value(s, "opsplan_api_error_ratio", service="llm") == pytest.approx(0.02)
        # histogram_quantile's interpolation: p50 rank 100 -> 0.5; p95 rank 190 -> 1 + 10/15;
        # p99 rank 198 -> 2 + 3 * 3/5.
        assert value(s, "opsplan_api_response_seconds", service="llm", quantile="0.5") == pytest.approx(0.5)
        assert value(s, "opsplan_api_response_seconds", service="llm", quantile="0.95") == pytest.approx(1 + 10 / 15)
        assert value(s, "opsplan_api_response_seconds", service="llm", quantile="0.99") == pytest.approx(3.8)
        assert value(s, "opsplan_api_running_requests", service="llm") == 7
        assert value(s, "opsplan_api_waiting_requests", service="llm") == 3

        # The service restarts: its counters start again from small values.
        vllm.success = {"stop": 30.0, "length": 0.0, "abort": 0.0}
        vllm.latency = Histogram()
        vllm.latency.observe(0.2, 30)
        clock.now += 15
        s = collector.collect()
        assert value(s, "opsplan_api_requests_per_second", service="llm") == pytest.approx(2.0)
        assert value(s, "opsplan_api_error_ratio", service="llm") == 0
        p99 = value(s, "opsplan_api_response_seconds", service="llm", quantile="0.99")
        assert p99 is not None and 0 < p99 <= 0.5

        # No traffic at all: rate 0, error ratio 0, quantiles absent rather than NaN.
        clock.now += 15
        s = collector.collect()
        assert value(s, "opsplan_api_requests_per_second", service="llm") == 0
        assert value(s, "opsplan_api_error_ratio", service="llm") == 0
        assert not [x for x in s if x.name == "opsplan_api_response_seconds"]
    finally:
        collector.close()


def test_generic_endpoint_counts_5xx_and_ignores_probe_and_scrape_requests(server: str,
                                                                           behaviour: Behaviour) -> None:
    app = GenericMetrics()
    app.add("/v1/items", "2xx", 10, 0.05)

    def count_own(path: str) -> None:  # the instrumented app also counts opsplan's own requests
        if path in ("/health", "/metrics"):
            app.add(path, "2xx", 1, 0.001)

    behaviour.render, behaviour.on_request = app.render, count_own
    clock = Clock()
    collector = ServicesCollector([Service(name="api", url=f"{server}/health", metrics_url=f"{server}/metrics")],
                                  clock=clock)
    try:
        collector.collect()
        app.add("/v1/items", "2xx", 270, 0.08)
        app.add("/v1/items", "5xx", 30, 0.9)
        app.add("/v1/search", "4xx", 0, 0.1)
        clock.now += 30
        s = collector.collect()
        assert value(s, "opsplan_api_requests_per_second", service="api") == pytest.approx(10.0)
        assert value(s, "opsplan_api_error_ratio", service="api") == pytest.approx(0.1)
        # 270 of 300 in the first bucket (<=0.5 s): p50 rank 150 -> 0.5 * 150/270.
        assert value(s, "opsplan_api_response_seconds", service="api", quantile="0.5") == pytest.approx(
            0.5 * 150 / 270)
        # p95 rank 285 falls among the 30 slow ones in (0.5, 1]: 0.5 + 0.5 * 15/30.
        assert value(s, "opsplan_api_response_seconds", service="api", quantile="0.95") == pytest.approx(0.75)
        assert value(s, "opsplan_api_responses_total", service="api", **{"class": "5xx"}) == 30
        assert value(s, "opsplan_api_responses_total", service="api", **{"class": "2xx"}) == 270
    finally:
        collector.close()


def test_health_500_and_dead_port_are_down_while_others_are_reported(server: str, behaviour: Behaviour) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # closed again: nothing listens there
    behaviour.health_status = 500
    collector = ServicesCollector([
        Service(name="dead", url=f"http://127.0.0.1:{dead_port}/health", timeout=1.0),
        Service(name="sick", url=f"{server}/health"),
        Service(name="fine", url=f"{server}/moved", expect_status=[500]),
    ])
    try:
        s = collector.collect()
    finally:
        collector.close()
    assert value(s, "opsplan_api_up", service="dead") == 0
    assert value(s, "opsplan_api_probe_status_code", service="dead") == 0
    assert value(s, "opsplan_api_up", service="sick") == 0
    assert value(s, "opsplan_api_probe_status_code", service="sick") == 500
    # A same-origin redirect is followed to the status the operator expects.
    assert value(s, "opsplan_api_up", service="fine") == 1


def test_redirect_to_another_host_is_not_followed(server: str) -> None:
    collector = ServicesCollector([Service(name="away", url=f"{server}/elsewhere", timeout=2.0)])
    try:
        s = collector.collect()
    finally:
        collector.close()
    assert value(s, "opsplan_api_up", service="away") == 0
    assert value(s, "opsplan_api_probe_status_code", service="away") == 302


def test_slow_service_does_not_stall_the_cycle(server: str, behaviour: Behaviour) -> None:
    behaviour.health_delay = 30.0
    vllm = VllmMetrics()
    behaviour.render = vllm.render
    collector = ServicesCollector([
        Service(name="slow", url=f"{server}/health", timeout=0.5),
        Service(name="metrics-only", metrics_url=f"{server}/metrics", timeout=5.0),
    ])
    try:
        for _ in range(2):  # the second cycle finds the first probe still hanging
            started = time.monotonic()
            s = collector.collect()
            elapsed = time.monotonic() - started
            assert elapsed < 3.0, f"cycle took {elapsed:.1f}s with a 0.5s timeout"
            assert value(s, "opsplan_api_up", service="slow") == 0
            assert value(s, "opsplan_api_up", service="metrics-only") == 1
    finally:
        collector.close()


# --- TLS ---

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, so no self-signed certificate can be made")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_self_signed_https_reports_certificate_expiry(certificate: tuple[Path, Path], behaviour: Behaviour) -> None:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    srv, base = start_server(behaviour, tls=context)
    trusting = httpx.Client(verify=ssl.create_default_context(cafile=str(cert)))
    clock = Clock()
    clock.now = time.time()
    trusted = ServicesCollector([Service(name="tls", url=f"{base}/health")], clock=clock, client=trusting)
    untrusted = ServicesCollector([Service(name="tls", url=f"{base}/health")], clock=clock)
    try:
        s = trusted.collect()
        assert value(s, "opsplan_api_up", service="tls") == 1
        expiry = value(s, "opsplan_api_tls_cert_expiry_seconds", service="tls")
        assert expiry is not None and 29 * 86400 < expiry <= 30 * 86400 + 60

        # The expiry is cached, and counts down with the clock.
        clock.now += 600
        later = value(trusted.collect(), "opsplan_api_tls_cert_expiry_seconds", service="tls")
        assert later == pytest.approx(expiry - 600)

        # A certificate the probe does not trust makes the service down, but its expiry is still known.
        s = untrusted.collect()
        assert value(s, "opsplan_api_up", service="tls") == 0
        assert value(s, "opsplan_api_tls_cert_expiry_seconds", service="tls") == pytest.approx(
            later, abs=5)
    finally:
        trusted.close()
        untrusted.close()
        trusting.close()
        srv.shutdown()
        srv.server_close()


def test_tls_verify_and_ca_file_decide_whether_a_self_signed_service_is_up(
        certificate: tuple[Path, Path], behaviour: Behaviour, caplog: pytest.LogCaptureFixture) -> None:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    srv, base = start_server(behaviour, tls=context)
    url = f"{base}/health"
    collector = ServicesCollector([
        Service(name="default", url=url),
        Service(name="own-ca", url=url, ca_file=cert),
        Service(name="unverified", url=url, tls_verify=False),
        Service(name="missing-ca", url=url, ca_file=cert.parent / "nowhere.pem"),
    ])
    try:
        with caplog.at_level("WARNING", logger="opsplan.collectors.services"):
            s = collector.collect()
        assert value(s, "opsplan_api_up", service="default") == 0
        assert value(s, "opsplan_api_up", service="own-ca") == 1
        assert value(s, "opsplan_api_up", service="unverified") == 1
        assert value(s, "opsplan_api_up", service="missing-ca") == 0
        # The reason is a metric too, for the status page: fixed words, not the error's text.
        assert value(s, "opsplan_api_probe_failure_info", service="default", reason="certificate") == 1
        assert value(s, "opsplan_api_probe_failure_info", service="missing-ca", reason="ca_file") == 1
        assert not [x for x in s if x.name == "opsplan_api_probe_failure_info" and x.label("service") == "own-ca"]
        # The operator's log says why the default one is down, and what to do about it.
        default_lines = [r.getMessage() for r in caplog.records if "default probe" in r.getMessage()]
        assert len(default_lines) == 1
        assert "certificate verify failed" in default_lines[0]
        assert "ca_file" in default_lines[0]
        missing = [r.getMessage() for r in caplog.records if "missing-ca probe" in r.getMessage()]
        assert missing and "nowhere.pem" in missing[0]
        # The expiry of the untrusted certificate is watched all the same.
        assert value(s, "opsplan_api_tls_cert_expiry_seconds", service="default") is not None
    finally:
        collector.close()
        srv.shutdown()
        srv.server_close()


def test_endpoint_and_log_merge_and_fall_back(server: str, behaviour: Behaviour, tmp_path: Path) -> None:
    vllm = VllmMetrics()
    behaviour.render = vllm.render
    log_path = tmp_path / "access.log"
    log_path.write_text("")
    clock = Clock()
    service = Service(name="llm", url=f"{server}/health", metrics_url=f"{server}/metrics",
                      access_log=AccessLog(path=log_path))
    collector = ServicesCollector([service], clock=clock)

    def log_lines(n: int, status: int, addr: str) -> None:
        with open(log_path, "a") as fh:
            fh.writelines(f'{addr} - - [10/Oct/2025:13:55:36 +0900] "POST /v1/chat HTTP/1.1" {status} 9 '
                          f'"-" "ua" 9.000\n' for _ in range(n))

    try:
        collector.collect()
        vllm.success["stop"] += 100
        vllm.latency.observe(0.3, 100)
        log_lines(5, 500, "10.0.0.1")  # the log disagrees; the endpoint wins for rate, errors, latency
        log_lines(5, 200, "10.0.0.2")
        clock.now += 10
        s = collector.collect()  # value() also asserts each series is emitted once
        assert value(s, "opsplan_api_requests_per_second", service="llm") == pytest.approx(10.0)
        assert value(s, "opsplan_api_error_ratio", service="llm") == 0
        assert value(s, "opsplan_api_response_seconds", service="llm", quantile="0.99") <= 0.5
        assert value(s, "opsplan_api_concurrent_users", service="llm") == 2
        assert value(s, "opsplan_api_responses_total", service="llm", **{"class": "5xx"}) == 5

        # The endpoint breaks: the log carries rate, errors and latency for that cycle.
        behaviour.render = lambda: "this is {not prometheus text\n"
        log_lines(20, 500, "10.0.0.3")
        clock.now += 10
        s = collector.collect()
        assert value(s, "opsplan_api_metrics_up", service="llm") == 0
        assert value(s, "opsplan_api_up", service="llm") == 1
        assert value(s, "opsplan_api_requests_per_second", service="llm") == pytest.approx(2.0)
        assert value(s, "opsplan_api_error_ratio", service="llm") == 1
        assert value(s, "opsplan_api_response_seconds", service="llm", quantile="0.5") == pytest.approx(9.0)
        assert value(s, "opsplan_api_concurrent_users", service="llm") == 3
    finally:
        collector.close()
