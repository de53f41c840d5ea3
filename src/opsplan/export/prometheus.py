"""prometheus/prometheus.yml and alertmanager/alertmanager.yml from the plan."""

from __future__ import annotations

from typing import Any

from opsplan.export.promql import duration
from opsplan.export.targets import Endpoint, ExportTargets
from opsplan.plan.models import Plan
from opsplan.rules.model import Rule

WEBHOOK_PATH = "/api/v1/alertmanager"
# Warnings are not repeated by opsplan's own notifier; Alertmanager cannot stop repeating, so once a day.
WARNING_REPEAT_S = 24 * 3600.0


def _static(endpoint: Endpoint) -> dict[str, Any]:
    config: dict[str, Any] = {"static_configs": [{"targets": [endpoint.hostport]}]}
    if endpoint.scheme != "http":
        config["scheme"] = endpoint.scheme
    return config


def prometheus_config(plan: Plan, targets: ExportTargets) -> dict[str, Any]:
    scrape: dict[str, Any] = {
        "job_name": "opsplan",
        "metrics_path": f"{targets.opsplan.path}/metrics",
        # opsplan's own labels (service, group, gpu ...) are the contract: keep them as they are.
        "honor_labels": True,
        **_static(targets.opsplan),
        "relabel_configs": [{"target_label": "instance", "replacement": plan.server.name}],
    }
    return {
        "global": {**scrape_timing(targets.scrape_interval, targets.evaluation_interval),
                   "external_labels": {"opsplan_server": plan.server.name}},
        "rule_files": ["rules.yml"],
        "alerting": {"alertmanagers": alertmanagers([targets.alertmanager])},
        "scrape_configs": [scrape],
    }


def scrape_timeout(interval: float) -> float:
    return min(10.0, interval)  # Prometheus refuses a timeout longer than the interval


def scrape_timing(scrape_interval: float, evaluation_interval: float) -> dict[str, str]:
    return {"scrape_interval": duration(scrape_interval),
            "scrape_timeout": duration(scrape_timeout(scrape_interval)),
            "evaluation_interval": duration(evaluation_interval)}


def alertmanagers(members: list[Endpoint]) -> list[dict[str, Any]]:
    """Prometheus's `alerting.alertmanagers`: every member of a cluster (Prometheus must send to each;
    the cluster deduplicates), one entry per scheme and path prefix."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for member in members:
        entry = entries.get((member.scheme, member.path))
        if entry is None:
            entry = entries[(member.scheme, member.path)] = {"api_version": "v2", **_static(member)}
            if member.path:
                entry["path_prefix"] = member.path
        elif member.hostport not in entry["static_configs"][0]["targets"]:
            entry["static_configs"][0]["targets"].append(member.hostport)
    return list(entries.values())


def subject_labels(rules: list[Rule]) -> list[str]:
    return sorted({name for rule in rules for name in rule.subject})


def alertmanager_config(plan: Plan, rules: list[Rule], targets: ExportTargets) -> dict[str, Any]:
    subjects = subject_labels(rules)
    webhook: dict[str, Any] = {"url": targets.webhook_url or f"{targets.opsplan.url}{WEBHOOK_PATH}",
                               "send_resolved": True,
                               "max_alerts": 0}
    if targets.token_file is not None:
        # A file reference, never the token itself: alertmanager.yml is often world-readable.
        webhook["http_config"] = {"authorization": {"type": "Bearer",
                                                    "credentials_file": str(targets.token_file)}}
    critical_repeat = plan.notifications.critical_repeat
    return {
        "route": {
            "receiver": "opsplan",
            "group_by": ["alertname", *subjects],
            "group_wait": duration(targets.group_wait),
            "group_interval": duration(targets.group_interval),
            "repeat_interval": duration(max(WARNING_REPEAT_S, critical_repeat)),
            "routes": [
                {"matchers": ['severity="critical"'], "receiver": "opsplan",
                 "repeat_interval": duration(critical_repeat)},
                {"matchers": ['severity="warning"'], "receiver": "opsplan",
                 "repeat_interval": duration(max(WARNING_REPEAT_S, critical_repeat))},
            ],
        },
        "receivers": [{"name": "opsplan", "webhook_configs": [webhook]}],
        # A Critical silences the Warning of the same alert and subject, as in the embedded engine.
        "inhibit_rules": [{"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
                           "equal": ["alertname", *subjects]}],
    }
