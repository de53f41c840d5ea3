"""Where the exported programs find each other: opsplan, Prometheus, Alertmanager; and their timings.

Everything defaults to the plan (web.bind:port, monitoring.interval, monitoring.alertmanager_url,
monitoring.prometheus_url); `opsplan export` options override single values, for a Prometheus that
reaches opsplan through another address than the one it binds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from opsplan.errors import OpsplanError
from opsplan.plan.models import Plan

DEFAULT_ALERTMANAGER = "http://127.0.0.1:9093"
DEFAULT_PROMETHEUS = "http://127.0.0.1:9090"


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    hostport: str
    path: str  # without a trailing slash; "" at the root

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.hostport}{self.path}"


def endpoint(url: str, what: str) -> Endpoint:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OpsplanError(f"{what}: expected an http(s) URL such as http://127.0.0.1:8080, got {url[:80]!r}")
    if parts.username or parts.password:
        raise OpsplanError(f"{what}: credentials do not belong in a URL that is written to a file")
    try:
        port = parts.port
    except ValueError:
        raise OpsplanError(f"{what}: invalid port in {url[:80]!r}") from None
    default_port = 443 if parts.scheme == "https" else 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Endpoint(parts.scheme, f"{host}:{port or default_port}", parts.path.rstrip("/"))


def _opsplan_url(plan: Plan) -> str:
    bind = plan.web.bind
    host = "127.0.0.1" if bind in ("0.0.0.0", "") else ("::1" if bind == "::" else bind)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{plan.web.port}"


@dataclass(frozen=True)
class ExportTargets:
    opsplan: Endpoint
    alertmanager: Endpoint
    prometheus: Endpoint
    scrape_interval: float
    evaluation_interval: float
    group_wait: float
    group_interval: float
    # A file holding opsplan's API token: Alertmanager reads it to authenticate its webhook.
    token_file: Path | None = None
    # Where Alertmanager posts: opsplan's /api/v1/alertmanager unless a proxy stands in between.
    webhook_url: str | None = None


def targets_for(plan: Plan, *, opsplan_url: str | None = None, alertmanager_url: str | None = None,
                prometheus_url: str | None = None, scrape_interval: float | None = None,
                evaluation_interval: float | None = None, group_wait: float | None = None,
                group_interval: float | None = None, token_file: Path | None = None,
                webhook_url: str | None = None) -> ExportTargets:
    scrape = scrape_interval if scrape_interval is not None else plan.monitoring.interval
    for name, value in (("scrape interval", scrape), ("evaluation interval", evaluation_interval),
                        ("group wait", group_wait), ("group interval", group_interval)):
        if value is not None and value <= 0:
            raise OpsplanError(f"{name} must be above 0, got {value:g}s")
    if plan.web.port == 0 and opsplan_url is None:
        raise OpsplanError("web.port is 0 (any free port): give --opsplan-url with the address opsplan serves on")
    return ExportTargets(
        opsplan=endpoint(opsplan_url or plan.web.public_url or _opsplan_url(plan), "opsplan URL"),
        alertmanager=endpoint(alertmanager_url or plan.monitoring.alertmanager_url or DEFAULT_ALERTMANAGER,
                              "Alertmanager URL"),
        prometheus=endpoint(prometheus_url or getattr(plan.monitoring, "prometheus_url", None)
                            or DEFAULT_PROMETHEUS, "Prometheus URL"),
        scrape_interval=scrape,
        evaluation_interval=evaluation_interval if evaluation_interval is not None else scrape,
        # Alertmanager's own defaults: a real deployment batches the first notification for 30s.
        group_wait=30.0 if group_wait is None else group_wait,
        group_interval=300.0 if group_interval is None else group_interval,
        token_file=token_file,
        webhook_url=endpoint(webhook_url, "webhook URL").url if webhook_url else None)
