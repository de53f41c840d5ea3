"""Reading a service's own Prometheus endpoint (vLLM, prometheus-fastapi-instrumentator,
starlette-exporter) and turning two scrapes into request rate, error count and latency.

Which series are used, in order of preference (docs/metrics-services.md):
- requests and errors: `http_requests_total` / `starlette_requests_total` with a status label
  (`status`, `code` or `status_code`; "5xx" or "503" both count as errors); otherwise vLLM's
  `vllm:request_success_total`, where finished_reason "abort" or "error" counts as an error.
- latency: `vllm:e2e_request_latency_seconds` (fine buckets), then
  `http_request_duration_highr_seconds`, `http_request_duration_seconds`,
  `starlette_request_duration_seconds`.
- running / waiting: `vllm:num_requests_running`, `http_requests_inprogress`,
  `starlette_requests_in_progress` / `vllm:num_requests_waiting`.
Series whose `handler`/`path` label is the probe or metrics path are left out, so opsplan's
own requests do not show up as traffic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from opsplan.errors import CollectorError
from opsplan.metrics import Labels

GENERIC_REQUEST_COUNTERS = ("http_requests_total", "starlette_requests_total")
VLLM_REQUEST_COUNTER = "vllm:request_success_total"
VLLM_ERROR_REASONS = frozenset({"abort", "error"})
STATUS_LABELS = ("status", "code", "status_code")
PATH_LABELS = ("handler", "path")
LATENCY_HISTOGRAMS = (
    "vllm:e2e_request_latency_seconds",
    "http_request_duration_highr_seconds",
    "http_request_duration_seconds",
    "starlette_request_duration_seconds",
)
RUNNING_GAUGES = ("vllm:num_requests_running", "http_requests_inprogress", "starlette_requests_in_progress")
WAITING_GAUGES = ("vllm:num_requests_waiting",)

_REQUEST_COUNTERS = (*GENERIC_REQUEST_COUNTERS, VLLM_REQUEST_COUNTER)
_BUCKET_NAMES = {f"{name}_bucket": name for name in LATENCY_HISTOGRAMS}

Buckets = dict[float, float]  # upper bound (le) -> cumulative count


class ScrapeError(CollectorError):
    """The endpoint answered with something other than a readable exposition."""


@dataclass(slots=True)
class Scrape:
    """The series of one scrape that opsplan uses, by the source chosen for each."""

    request_source: str | None = None
    requests: dict[Labels, float] = field(default_factory=dict)
    latency_source: str | None = None
    latency: dict[Labels, Buckets] = field(default_factory=dict)
    running: float | None = None
    waiting: float | None = None


def _status_of(labels: Labels) -> str | None:
    found = dict(labels)
    for key in STATUS_LABELS:
        if key in found:
            return found[key]
    return None


def is_error(source: str, labels: Labels) -> bool | None:
    """Whether a request series counts as errors; None when the series cannot say."""
    if source == VLLM_REQUEST_COUNTER:
        return dict(labels).get("finished_reason", "") in VLLM_ERROR_REASONS
    status = _status_of(labels)
    return None if status is None else status.startswith("5")


def status_class_of(source: str, labels: Labels) -> str | None:
    if source == VLLM_REQUEST_COUNTER:
        return None
    status = _status_of(labels)
    if status and status[0] in "12345":
        return f"{status[0]}xx"
    return None


def parse_scrape(text: str, exclude_paths: frozenset[str] = frozenset()) -> Scrape:
    counters: dict[str, dict[Labels, float]] = {}
    histograms: dict[str, dict[Labels, Buckets]] = {}
    gauges: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                value = float(s.value)
                if math.isnan(value):
                    continue
                if exclude_paths and any(s.labels.get(k) in exclude_paths for k in PATH_LABELS):
                    continue
                if s.name in _REQUEST_COUNTERS:
                    key = tuple(sorted(s.labels.items()))
                    counters.setdefault(s.name, {})[key] = value
                elif s.name in _BUCKET_NAMES and "le" in s.labels:
                    key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                    buckets = histograms.setdefault(_BUCKET_NAMES[s.name], {}).setdefault(key, {})
                    buckets[float(s.labels["le"])] = value
                elif s.name in RUNNING_GAUGES or s.name in WAITING_GAUGES:
                    gauges[s.name] = gauges.get(s.name, 0.0) + value
    except ValueError as exc:  # the parser's only complaint about bad text
        raise ScrapeError(f"unreadable metrics: {exc}") from exc

    scrape = Scrape()
    # A generic counter with status labels beats vLLM's: HTTP 5xx is what clients saw.
    for name in GENERIC_REQUEST_COUNTERS:
        found = counters.get(name)
        if found and any(_status_of(k) is not None for k in found):
            scrape.request_source, scrape.requests = name, found
            break
    else:
        for name in (VLLM_REQUEST_COUNTER, *GENERIC_REQUEST_COUNTERS):
            if counters.get(name):
                scrape.request_source, scrape.requests = name, counters[name]
                break
    for name in LATENCY_HISTOGRAMS:
        if histograms.get(name):
            scrape.latency_source, scrape.latency = name, histograms[name]
            break
    scrape.running = next((gauges[n] for n in RUNNING_GAUGES if n in gauges), None)
    scrape.waiting = next((gauges[n] for n in WAITING_GAUGES if n in gauges), None)
    return scrape


def fetch(client: httpx.Client, url: str, timeout: float, *, max_bytes: int = 16 * 1024 * 1024) -> str:
    """GET the exposition text, refusing bodies over max_bytes and bodies that take longer
    than `timeout` in all (httpx's own timeout is per read, a dribbling server resets it)."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    headers = {"Accept": "text/plain;version=0.0.4", "User-Agent": "opsplan"}
    with client.stream("GET", url, headers=headers, timeout=timeout, follow_redirects=False) as response:
        if response.status_code != 200:
            raise ScrapeError(f"HTTP {response.status_code}")
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise ScrapeError(f"metrics body larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise ScrapeError(f"metrics body not complete within {timeout:g}s")
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


# --- from two scrapes to one cycle's traffic ----------------------------------------------------

def counter_increase(prev: dict[Labels, float], cur: dict[Labels, float]) -> dict[Labels, float]:
    """Per-series increase. A series that went down was reset (the service restarted): its
    current value is the increase since the restart, as Prometheus's rate() assumes."""
    out: dict[Labels, float] = {}
    for key, value in cur.items():
        before = prev.get(key)
        out[key] = value if before is None or value < before else value - before
    return out


def histogram_increase(prev: dict[Labels, Buckets], cur: dict[Labels, Buckets]) -> Buckets:
    """Bucket increases summed over series, with the same reset rule as counters."""
    total: Buckets = {}
    for key, buckets in cur.items():
        before = prev.get(key)
        reset = (before is None or before.keys() != buckets.keys()
                 or any(buckets[le] < before[le] for le in buckets))
        for le, count in buckets.items():
            inc = count if reset or before is None else count - before[le]
            total[le] = total.get(le, 0.0) + inc
    return total


def histogram_quantile(q: float, buckets: Buckets) -> float | None:
    """Prometheus's histogram_quantile: linear interpolation inside the bucket holding the
    rank; the first bucket starts at 0; a rank in the +Inf bucket gives the highest finite
    bound. None when there were no observations (never NaN)."""
    items = sorted(buckets.items())
    if len(items) < 2 or not math.isinf(items[-1][0]):
        return None
    counts: list[float] = []
    for _, count in items:  # cumulative counts must not fall (they can, across a reset)
        counts.append(max(count, counts[-1]) if counts else count)
    total = counts[-1]
    if total <= 0:
        return None
    rank = q * total
    index = next((i for i in range(len(items) - 1) if counts[i] >= rank), len(items) - 1)
    if index == len(items) - 1:
        return items[-2][0]
    end = items[index][0]
    if index == 0:
        if end <= 0:
            return end
        start, below = 0.0, 0.0
    else:
        start, below = items[index - 1][0], counts[index - 1]
    in_bucket = counts[index] - below
    if in_bucket <= 0:
        return end
    return start + (end - start) * ((rank - below) / in_bucket)


@dataclass(slots=True)
class Traffic:
    """One cycle's requests from the endpoint: totals, errors, classes, latency buckets."""

    requests: float | None = None
    errors: float | None = None
    by_class: dict[str, float] | None = None
    buckets: Buckets | None = None
    running: float | None = None
    waiting: float | None = None


def traffic_between(prev: Scrape | None, cur: Scrape) -> Traffic:
    traffic = Traffic(running=cur.running, waiting=cur.waiting)
    if prev is None:
        return traffic
    source = cur.request_source
    if source is not None and prev.request_source == source:
        increase = counter_increase(prev.requests, cur.requests)
        traffic.requests = sum(increase.values())
        flags = {key: is_error(source, key) for key in increase}
        if all(flag is not None for flag in flags.values()):
            traffic.errors = sum(v for key, v in increase.items() if flags[key])
        classes: dict[str, float] = {}
        for key, v in increase.items():
            cls = status_class_of(source, key)
            if cls is not None:
                classes[cls] = classes.get(cls, 0.0) + v
        if classes:
            traffic.by_class = classes
    if cur.latency_source is not None and prev.latency_source == cur.latency_source:
        traffic.buckets = histogram_increase(prev.latency, cur.latency)
    return traffic
