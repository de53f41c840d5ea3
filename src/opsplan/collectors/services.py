"""The services collector: seed §3.1 application metrics for each service of the plan.

Per service and cycle: an HTTP probe of `url`, a scrape of its own Prometheus endpoint
(`metrics_url`), and the new lines of its access log. Rates, error ratios and quantiles are
for the last cycle (the time between two collections, by the injected clock); concurrent users
are distinct users over the last 5 minutes. Which source feeds which metric is in
docs/metrics-services.md.

Network work runs on short-lived daemon threads, all services at once, and the cycle waits for
each at most its service's `timeout`: a service that dribbles bytes (httpx's timeout is per
read) cannot stall the cycle, and a probe still running from an earlier cycle is reported as
down instead of being started again.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from opsplan.collectors.accesslog import AccessLogReader, LogCycle, quantile, status_class
from opsplan.collectors.promscrape import Scrape, Traffic, fetch, histogram_quantile, parse_scrape, traffic_between
from opsplan.errors import CollectorError
from opsplan.metrics import MetricSpec, Sample, counter, gauge, sample
from opsplan.plan.models import Service

log = logging.getLogger(__name__)

QUANTILES = (0.5, 0.95, 0.99)
CLASSES = ("2xx", "3xx", "4xx", "5xx")
USER_WINDOW = 300.0
TLS_RECHECK = 3600.0
TLS_RETRY = 300.0
MAX_REDIRECTS = 5
# Why a probe failed, a fixed set (docs/metrics.md): the status page shows it in the operator's words.
PROBE_FAILURES = ("certificate", "tls", "ca_file", "connect", "timeout", "status", "error")

METRICS: dict[str, MetricSpec] = {
    "opsplan_api_up": gauge("1 when the health probe answered with an expected status (without a probe URL: "
                            "when the metrics endpoint could be read), else 0", "service"),
    "opsplan_api_probe_seconds": gauge("Time until the health probe's response headers, or until it failed",
                                       "service", unit="seconds"),
    "opsplan_api_probe_status_code": gauge("HTTP status of the health probe; 0 when no response came",
                                           "service"),
    "opsplan_api_probe_failure_info": gauge("1 while the health probe fails, labelled with why: " + ", ".join(
        PROBE_FAILURES), "service", "reason"),
    "opsplan_api_tls_cert_expiry_seconds": gauge("Seconds until the service's TLS certificate expires "
                                                 "(negative once expired)", "service", unit="seconds"),
    "opsplan_api_metrics_up": gauge("1 when the service's own metrics endpoint was read and parsed", "service"),
    "opsplan_api_log_up": gauge("1 when the service's access log could be read", "service"),
    "opsplan_api_requests_per_second": gauge("Requests per second over the last cycle (throughput)", "service",
                                             unit="requests/s"),
    "opsplan_api_error_ratio": gauge("Share of the last cycle's requests that failed (5xx; vLLM: aborted); "
                                     "0 without requests", "service", unit="ratio"),
    "opsplan_api_response_seconds": gauge("Response time quantile over the last cycle's requests; absent "
                                          "without requests", "service", "quantile", unit="seconds"),
    "opsplan_api_running_requests": gauge("Requests being served now, as the service reports", "service"),
    "opsplan_api_waiting_requests": gauge("Requests queued, as the service reports (vLLM)", "service"),
    "opsplan_api_concurrent_users": gauge("Distinct users (client address or user field) in the access log "
                                          "over the last 5 minutes", "service"),
    "opsplan_api_responses_total": counter("Responses by status class since opsplan started", "service",
                                           "class"),
    "opsplan_api_log_parse_errors_total": counter("Access-log lines that could not be parsed and were skipped",
                                                  "service"),
}


# --- TLS certificate expiry ---------------------------------------------------------------------

def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER item at pos."""
    tag = data[pos]
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[start:start + n], "big")
        start += n
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, start, end


def cert_not_after(der: bytes) -> float:
    """notAfter of an X.509 certificate as a Unix time. The stdlib only decodes certificates
    it verified, and an expiry check must also work for self-signed internal ones."""
    _, start, _ = _der_item(der, 0)  # Certificate
    _, pos, _ = _der_item(der, start)  # TBSCertificate
    tag, _, end = _der_item(der, pos)
    if tag == 0xA0:  # explicit version
        pos = end
    for _ in range(3):  # serialNumber, signature, issuer
        _, _, pos = _der_item(der, pos)
    _, validity, _ = _der_item(der, pos)
    _, _, not_before_end = _der_item(der, validity)
    tag, start, end = _der_item(der, not_before_end)
    text = der[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime, YYMMDDHHMMSSZ; years 50-99 are 19xx (RFC 5280)
        moment = datetime.strptime(text, "%y%m%d%H%M%SZ")
        if moment.year >= 2050:
            moment = moment.replace(year=moment.year - 100)
    elif tag == 0x18:
        moment = datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise ValueError(f"unexpected time tag {tag:#x}")
    return moment.replace(tzinfo=UTC).timestamp()


def fetch_cert_not_after(host: str, port: int, timeout: float) -> float:
    """Handshake on its own small connection, without verification: an expiring self-signed
    certificate is still worth a warning."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    sni = None if _is_ip(host) else host
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=sni) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ValueError("no certificate presented")
    return cert_not_after(der)


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


# --- jobs with a deadline -----------------------------------------------------------------------

class _Job:
    """A function on a daemon thread; the cycle waits for it only until its deadline."""

    def __init__(self, name: str, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._fn = fn
        self.started = time.monotonic()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            self.result = self._fn()
        except BaseException as exc:  # reported by the cycle, never lost in a thread
            self.error = exc
        finally:
            self._done.set()

    def wait_until(self, deadline: float, cycle_started: float) -> bool:
        """Done by the deadline. A job left over from an earlier cycle is not waited for: its
        answer would be stale, and waiting again would let one hung service stall every cycle."""
        if self.started < cycle_started:
            return self._done.is_set()
        return self._done.wait(max(0.0, deadline - time.monotonic()))

    @property
    def done(self) -> bool:
        return self._done.is_set()


@dataclass(slots=True)
class ProbeResult:
    status: int | None
    seconds: float
    error: str | None = None  # why no response came, for the operator's log
    kind: str | None = None  # the same as one of PROBE_FAILURES, for the metric and the status page


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def failure_reason(exc: BaseException) -> tuple[str, str]:
    """Why a request got no response: one of PROBE_FAILURES, and words an operator can act on."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or "not trusted"
            return "certificate", (f"TLS certificate verify failed: {detail} "
                                   "(trust its CA with ca_file, or set tls_verify: false)")
        if isinstance(cause, ssl.SSLError):
            return "tls", f"TLS handshake failed: {cause.reason or cause}"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connect", f"no connection: {exc}" if str(exc) else "no connection"
    return "error", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def probe(client: httpx.Client, url: str, timeout: float) -> ProbeResult:
    """GET url and keep only the status: the body is never read. Redirects are followed only
    within the same scheme, host and port."""
    started = time.monotonic()
    target = httpx.URL(url)
    origin = _origin(target)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            with client.stream("GET", target, timeout=timeout, follow_redirects=False,
                               headers={"User-Agent": "opsplan"}) as response:
                status = response.status_code
                location = response.headers.get("location") if response.is_redirect else None
            if location is None:
                break
            following = target.join(location)
            if _origin(following) != origin:
                break
            target = following
        return ProbeResult(status, time.monotonic() - started)
    except httpx.HTTPError as exc:
        kind, why = failure_reason(exc)
        return ProbeResult(None, time.monotonic() - started, why, kind)


def tls_verify_setting(service: Service) -> ssl.SSLContext | bool:
    """What httpx verifies the service's certificate with: the system CAs, the plan's
    `ca_file`, or nothing (`tls_verify: false`)."""
    if not service.tls_verify:
        return False
    if service.ca_file is not None:
        try:
            return ssl.create_default_context(cafile=str(service.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise CollectorError(f"CA file {service.ca_file} cannot be used: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None
    return True


# --- per-service state --------------------------------------------------------------------------

@dataclass(slots=True)
class _State:
    probe: _Job | None = None
    scrape: _Job | None = None
    tls: _Job | None = None
    prev_scrape: Scrape | None = None
    prev_scrape_at: float | None = None
    tls_not_after: float | None = None
    tls_checked_at: float | None = None
    log: AccessLogReader | None = None
    prev_log_at: float | None = None
    responses: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0.0))
    parse_errors: float = 0.0
    responses_seen: bool = False
    failing: set[str] = field(default_factory=set)  # sources whose failure was already logged

    def report(self, service: str, source: str, error: object | None) -> None:
        """Log a source going down and coming back once, not every cycle."""
        if error is None:
            if source in self.failing:
                self.failing.discard(source)
                log.info("services collector: %s %s is back", service, source)
        elif source not in self.failing:
            self.failing.add(source)
            log.warning("services collector: %s %s: %s", service, source, error)


@dataclass(slots=True)
class _Cycle:
    """One service's traffic over one cycle, from whichever source gave it."""

    seconds: float
    requests: float
    errors: float | None = None
    by_class: dict[str, float] | None = None
    latencies: list[float] | None = None  # from the log, sorted
    buckets: dict[float, float] | None = None  # from the endpoint

    def quantile(self, q: float) -> float | None:
        if self.buckets is not None:
            return histogram_quantile(q, self.buckets)
        if self.latencies:
            return quantile(self.latencies, q)
        return None

    @property
    def has_latency(self) -> bool:
        return self.buckets is not None or bool(self.latencies)


def _log_cycle(read: LogCycle, seconds: float) -> _Cycle:
    by_class = dict.fromkeys(CLASSES, 0.0)
    latencies = []
    for request in read.requests:
        cls = status_class(request.status)
        if cls in by_class:
            by_class[cls] += 1
        if request.latency is not None:
            latencies.append(request.latency)
    latencies.sort()
    return _Cycle(seconds, float(len(read.requests)), by_class["5xx"], by_class, latencies)


def _endpoint_cycle(traffic: Traffic, seconds: float) -> _Cycle | None:
    requests = traffic.requests
    if requests is None and traffic.buckets:
        # No request counter, but a latency histogram counts every request too.
        requests = traffic.buckets.get(float("inf"))
    if requests is None:
        return None
    return _Cycle(seconds, requests, traffic.errors, traffic.by_class, None, traffic.buckets)


class ServicesCollector:
    name = "services"

    def __init__(self, services: list[Service], clock: Callable[[], float] = time.time,
                 client: httpx.Client | None = None, *, user_window: float = USER_WINDOW,
                 max_metrics_bytes: int = 16 * 1024 * 1024) -> None:
        self.services = list(services)
        self._clock = clock
        self._own_client = client is None
        # No redirects by default: the probe follows same-origin ones itself.
        self._client = client or httpx.Client(follow_redirects=False)
        # One client per other TLS setting (ca_file, tls_verify: false), made on first use.
        self._tls_clients: dict[tuple[bool, str | None], httpx.Client] = {}
        self._tls_lock = threading.Lock()
        self._max_metrics_bytes = max_metrics_bytes
        self._states: dict[str, _State] = {}
        for service in self.services:
            state = _State()
            if service.access_log is not None:
                state.log = AccessLogReader(service.access_log, window=user_window)
            self._states[service.name] = state

    def close(self) -> None:
        for state in self._states.values():
            if state.log is not None:
                state.log.close()
        if self._own_client:
            self._client.close()
        for client in self._tls_clients.values():
            client.close()

    def client_for(self, service: Service) -> httpx.Client:
        if service.tls_verify and service.ca_file is None:
            return self._client
        key = (service.tls_verify, str(service.ca_file) if service.ca_file else None)
        with self._tls_lock:
            client = self._tls_clients.get(key)
            if client is None:
                client = httpx.Client(follow_redirects=False, verify=tls_verify_setting(service))
                self._tls_clients[key] = client
        return client

    def collect(self) -> list[Sample]:
        now = self._clock()
        started = time.monotonic()
        for service in self.services:
            self._start_jobs(service, self._states[service.name], now)
        samples: list[Sample] = []
        for service in self.services:
            try:
                samples.extend(self._collect_one(service, self._states[service.name], now,
                                                 started, started + service.timeout))
            except Exception:  # one service's surprise must not hide the others
                log.exception("services collector: %s failed", service.name)
                samples.append(sample("opsplan_api_up", 0, service=service.name))
        return samples

    # --- network jobs ---

    def _start_jobs(self, service: Service, state: _State, now: float) -> None:
        timeout = service.timeout
        # The client is made in the job, so a CA file that cannot be read fails only this service.
        if service.url and (state.probe is None or state.probe.done):
            url = service.url
            state.probe = _Job(f"probe-{service.name}", lambda: probe(self.client_for(service), url, timeout))
        if service.metrics_url and (state.scrape is None or state.scrape.done):
            exclude = frozenset(p for p in (_path(service.url), _path(service.metrics_url)) if p)
            metrics_url, limit = service.metrics_url, self._max_metrics_bytes
            state.scrape = _Job(f"scrape-{service.name}", lambda: parse_scrape(
                fetch(self.client_for(service), metrics_url, timeout, max_bytes=limit), exclude))
        tls_url = service.url or service.metrics_url
        due = state.tls_checked_at is None or now - state.tls_checked_at >= TLS_RECHECK or now < state.tls_checked_at
        if tls_url and tls_url.startswith("https://") and due and (state.tls is None or state.tls.done):
            parts = urlsplit(tls_url)
            host, port = parts.hostname or "", parts.port or 443
            state.tls = _Job(f"tls-{service.name}", lambda: fetch_cert_not_after(host, port, timeout))

    def _collect_one(self, service: Service, state: _State, now: float, started: float,
                     deadline: float) -> list[Sample]:
        name = service.name
        out: list[Sample] = []
        log_cycle = self._read_log(service, state, now, out)

        endpoint_cycle: _Cycle | None = None
        endpoint_running: float | None = None
        endpoint_waiting: float | None = None
        scraped = False
        if service.metrics_url and state.scrape is not None:
            job = state.scrape
            if job.wait_until(deadline, started) and job.error is None:
                scraped = True
                current: Scrape = job.result
                prev_at = state.prev_scrape_at
                traffic = traffic_between(state.prev_scrape, current)
                if prev_at is not None and now > prev_at:
                    endpoint_cycle = _endpoint_cycle(traffic, now - prev_at)
                endpoint_running, endpoint_waiting = traffic.running, traffic.waiting
                state.prev_scrape, state.prev_scrape_at = current, now
            state.report(name, "metrics endpoint",
                         None if scraped else job.error or f"no answer within {service.timeout:g}s")
            out.append(sample("opsplan_api_metrics_up", 1 if scraped else 0, service=name))

        if service.url and state.probe is not None:
            job = state.probe
            if job.wait_until(deadline, started) and isinstance(job.result, ProbeResult):
                result: ProbeResult = job.result
                up = result.status is not None and result.status in service.expect_status
                seconds, status = result.seconds, result.status or 0
                problem: object | None = None if up else (
                    f"HTTP {status}" if status else result.error or "no connection")
                kind = "status" if status else result.kind or "error"
            else:
                up, seconds, status = False, service.timeout, 0
                problem = job.error or f"no answer within {service.timeout:g}s"
                kind = ("ca_file" if isinstance(job.error, CollectorError)
                        else "timeout" if job.error is None else "error")
            state.report(name, "probe", problem)
            out.append(sample("opsplan_api_up", 1 if up else 0, service=name))
            if not up:
                out.append(sample("opsplan_api_probe_failure_info", 1, service=name, reason=kind))
            out.append(sample("opsplan_api_probe_seconds", seconds, service=name))
            out.append(sample("opsplan_api_probe_status_code", status, service=name))
        elif service.metrics_url:
            out.append(sample("opsplan_api_up", 1 if scraped else 0, service=name))

        self._tls(service, state, now, started, deadline, out)
        self._traffic(service, state, endpoint_cycle, log_cycle, out)
        if endpoint_running is not None:
            out.append(sample("opsplan_api_running_requests", endpoint_running, service=name))
        if endpoint_waiting is not None:
            out.append(sample("opsplan_api_waiting_requests", endpoint_waiting, service=name))
        if state.log is not None and state.log.tailer.opened:
            out.append(sample("opsplan_api_concurrent_users", state.log.users.count(now), service=name))
        return out

    def _read_log(self, service: Service, state: _State, now: float, out: list[Sample]) -> _Cycle | None:
        if state.log is None:
            return None
        try:
            read = state.log.read(now)
        except OSError as exc:
            state.report(service.name, "access log", exc)
            out.append(sample("opsplan_api_log_up", 0, service=service.name))
            return None
        state.report(service.name, "access log", None)
        out.append(sample("opsplan_api_log_up", 1, service=service.name))
        state.parse_errors += read.parse_errors
        out.append(sample("opsplan_api_log_parse_errors_total", state.parse_errors, service=service.name))
        prev_at, state.prev_log_at = state.prev_log_at, now
        if prev_at is None or now <= prev_at:
            return None
        return _log_cycle(read, now - prev_at)

    def _tls(self, service: Service, state: _State, now: float, started: float, deadline: float,
             out: list[Sample]) -> None:
        job = state.tls
        if job is not None and job.wait_until(deadline, started):
            state.tls = None
            state.tls_checked_at = now
            state.report(service.name, "TLS certificate", job.error)
            if job.error is None:
                state.tls_not_after = job.result
            else:
                # An unreadable certificate says nothing about expiry: drop the value and retry
                # sooner than the hourly refresh, as the service may just be starting.
                state.tls_not_after = None
                state.tls_checked_at = now - TLS_RECHECK + TLS_RETRY
        if state.tls_not_after is not None:
            out.append(sample("opsplan_api_tls_cert_expiry_seconds", state.tls_not_after - now,
                              service=service.name))

    def _traffic(self, service: Service, state: _State, endpoint: _Cycle | None, logged: _Cycle | None,
                 out: list[Sample]) -> None:
        """The merge rule: the endpoint first for rate, errors and latency, the log where the
        endpoint cannot say; each §3.1 metric once."""
        name = service.name
        # Classes from the log when there is one (it sees every response), else the endpoint's;
        # never both, so the counter does not jump when one source comes and goes.
        class_from = logged if state.log is not None else endpoint
        if class_from is not None and class_from.by_class is not None:
            state.responses_seen = True
            for cls, count in class_from.by_class.items():
                if cls in state.responses:
                    state.responses[cls] += count
        if state.responses_seen or state.log is not None:
            for cls in CLASSES:
                out.append(sample("opsplan_api_responses_total", state.responses[cls], service=name,
                                  **{"class": cls}))

        rate_from = endpoint or logged
        if rate_from is None:
            return
        out.append(sample("opsplan_api_requests_per_second", rate_from.requests / rate_from.seconds, service=name))

        error_from = next((c for c in (endpoint, logged) if c is not None and c.errors is not None), None)
        if error_from is not None:
            errors, requests = error_from.errors or 0.0, error_from.requests
            ratio = min(errors / requests, 1.0) if requests > 0 else 0.0
            out.append(sample("opsplan_api_error_ratio", ratio, service=name))

        latency_from = next((c for c in (endpoint, logged) if c is not None and c.has_latency), None)
        if latency_from is not None:
            for q in QUANTILES:
                value = latency_from.quantile(q)
                if value is not None:
                    out.append(sample("opsplan_api_response_seconds", value, service=name, quantile=str(q)))


def _path(url: str | None) -> str | None:
    return (urlsplit(url).path or "/") if url else None
