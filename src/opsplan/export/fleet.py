"""A fleet: many hosts, each running `opsplan serve` with its own plan, watched by one Prometheus (or a
pair) through a file_sd target list, alerting through an Alertmanager cluster (docs/fleet.md).

Nothing here writes PromQL or a route of its own: each host's rules, routes and dashboards are the
per-host export's (`promql`, `prometheus`, `grafana`), scoped to the host by a `host` label that the
target list gives every series of that host. So a host keeps its plan's thresholds, its alerts keep
their names, and each alert says which host it is about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from opsplan.errors import OpsplanError, said
from opsplan.export.fleet_alertmanager import AlertmanagerMember, cluster_args, fleet_alertmanager_config
from opsplan.export.fleet_grafana import fleet_dashboards
from opsplan.export.grafana import datasource_config, provider_config
from opsplan.export.prometheus import alertmanagers, scrape_timeout, scrape_timing
from opsplan.export.promql import alerting_rule, duration, rules_document
from opsplan.export.targets import Endpoint, ExportTargets
from opsplan.export.writer import to_json, to_yaml
from opsplan.i18n import t, template
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan, Text
from opsplan.rules.model import Condition, Rule, build_rules

HOST_LABEL = "host"
JOB = "opsplan"
TARGETS_FILE = "targets/opsplan.json"  # relative to prometheus.yml, as Prometheus reads it
# A label value, a receiver name and part of a rule group's name: kept to what all three accept.
HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
WILDCARD_BINDS = ("0.0.0.0", "::", "")
# A Prometheus pair sets external_labels {prometheus_replica: a|b}; dropped from alerts so the
# Alertmanager cluster sees one alert, not two.
REPLICA_LABEL = "prometheus_replica"


@dataclass(frozen=True)
class FleetHost:
    name: str  # the `host` label: the plan's server.name unless the hosts file names it
    plan: Plan
    targets: ExportTargets  # its address, its webhook and token file, its timings
    source: str  # the plan file, for errors


@dataclass(frozen=True)
class Fleet:
    hosts: list[FleetHost]
    alertmanagers: list[AlertmanagerMember]  # the cluster's members; Prometheus sends to each
    prometheus: Endpoint


def host_address(plan: Plan, url: str | None, name: str) -> str | None:
    """The URL Prometheus scrapes for this host: the hosts file's, else web.public_url, else
    web.bind:port unless that is a wildcard, which says nothing about where the host is."""
    if url or plan.web.public_url:
        return url or plan.web.public_url
    if plan.web.bind in WILDCARD_BINDS:
        raise said(OpsplanError, "fleet.error.no_address", host=name, bind=plan.web.bind or "''")
    return None  # targets_for's default: web.bind:port


def check_fleet(fleet: Fleet) -> None:
    """Names a label can carry, each once, and each address once: two hosts answering on one
    address would be one scrape target with two names."""
    if not fleet.hosts:
        raise said(OpsplanError, "fleet.error.no_hosts")
    names: dict[str, str] = {}
    addresses: dict[str, str] = {}
    for host in fleet.hosts:
        if not HOST_NAME.match(host.name):
            raise said(OpsplanError, "fleet.error.host_name", name=repr(host.name[:80]), path=host.source)
        if host.name in names:
            raise said(OpsplanError, "fleet.error.same_name", name=host.name, first=names[host.name],
                       path=host.source)
        names[host.name] = host.source
        address = host.targets.opsplan.url
        if address in addresses:
            raise said(OpsplanError, "fleet.error.same_address", url=address, first=addresses[address],
                       path=host.source)
        addresses[address] = host.source


def scoped(rule: Rule, host: str) -> Rule:
    """`rule` for one host: its metrics, its guard and its hysteresis join read that host's series,
    and its alerts carry the host's name."""
    pin = ((HOST_LABEL, host),)
    guard = None if rule.guard is None else replace(rule.guard, matchers=pin + rule.guard.matchers)
    # The label too: two hosts' rules with one name and severity would be duplicates to Prometheus.
    return replace(rule, condition=replace(rule.condition, matchers=pin + rule.condition.matchers), guard=guard,
                   subject=(HOST_LABEL, *rule.subject), labels=pin + rule.labels)


def host_rules(host: FleetHost, families: Mapping[str, MetricSpec]) -> list[Rule]:
    return [scoped(rule, host.name) for rule in build_rules(host.plan, families)]


def host_down_rule(fleet: Fleet) -> Rule:
    """The one alert only a fleet has: a host whose opsplan Prometheus cannot scrape at all (its own
    rules then see nothing). Three of the slowest host's scrapes, at least 30s."""
    slowest = max(h.targets.scrape_interval for h in fleet.hosts)
    return Rule(id="fleet.opsplan_down", alert="OpsplanDown", severity="critical",
                condition=Condition("up", "==", 0, (("job", JOB),)), for_s=max(30.0, 3 * slowest),
                summary=Text(ko=t("fleet.alert.down.summary", "ko"), en=t("fleet.alert.down.summary", "en")),
                # {subject} is filled by promql.fill, as in every rule's text.
                description=Text(ko=template("fleet.alert.down.description", "ko"),
                                 en=template("fleet.alert.down.description", "en")),
                subject=(HOST_LABEL,))


def recording_rules() -> list[dict[str, Any]]:
    """What the fleet dashboard shows first: which hosts answer, and what fires where."""
    return [
        {"record": "opsplan:host_up", "expr": f'max by ({HOST_LABEL}) (up{{job="{JOB}"}})'},
        {"record": "opsplan:alerts_firing:count",
         "expr": f'count by ({HOST_LABEL}, severity) (ALERTS{{alertstate="firing",{HOST_LABEL}!=""}})'},
    ]


def fleet_rules_document(fleet: Fleet, rules: dict[str, list[Rule]]) -> dict[str, Any]:
    """One rule group per host (its plan's rules at its evaluation interval), then the fleet's own."""
    groups: list[dict[str, Any]] = []
    for host in fleet.hosts:
        group = rules_document(rules[host.name], host.plan)["groups"][0]
        groups.append({"name": f"opsplan-{host.name}", "interval": duration(host.targets.evaluation_interval),
                       "rules": group["rules"]})
    first = fleet.hosts[0].plan
    groups.append({"name": "opsplan-fleet",
                   "rules": [alerting_rule(host_down_rule(fleet), first), *recording_rules()]})
    return {"groups": groups}


def target_list(fleet: Fleet) -> list[dict[str, Any]]:
    """Prometheus file_sd: one entry per host, with the labels every series of the host carries and
    its own path, scheme and scrape interval (a host's plan may collect faster than another's)."""
    entries = []
    for host in fleet.hosts:
        opsplan, interval = host.targets.opsplan, host.targets.scrape_interval
        groups = [group.id for group in host.plan.allocation]
        entries.append({"targets": [opsplan.hostport], "labels": {
            HOST_LABEL: host.name,
            # ",a,b," so that allocation_groups=~".*,a,.*" matches one group exactly.
            "allocation_groups": f",{','.join(groups)}," if groups else "",
            "__metrics_path__": f"{opsplan.path}/metrics",
            "__scheme__": opsplan.scheme,
            "__scrape_interval__": duration(interval),
            "__scrape_timeout__": duration(scrape_timeout(interval)),
        }})
    return entries


def fleet_prometheus_config(fleet: Fleet) -> dict[str, Any]:
    fastest = min(fleet.hosts, key=lambda h: h.targets.scrape_interval).targets
    scrape: dict[str, Any] = {
        "job_name": JOB,
        "honor_labels": True,  # opsplan's own labels (service, group, gpu ...) are the contract
        "file_sd_configs": [{"files": [TARGETS_FILE], "refresh_interval": "1m"}],
        "relabel_configs": [{"source_labels": [HOST_LABEL], "target_label": "instance"}],
    }
    return {
        "global": scrape_timing(fastest.scrape_interval, fastest.evaluation_interval),
        "rule_files": ["rules.yml"],
        "alerting": {"alert_relabel_configs": [{"action": "labeldrop", "regex": REPLICA_LABEL}],
                     "alertmanagers": alertmanagers([m.endpoint for m in fleet.alertmanagers])},
        "scrape_configs": [scrape],
    }


def render_fleet(fleet: Fleet, out: Path, families: Mapping[str, MetricSpec]) -> dict[str, str]:
    """Every file of the fleet export, relative path -> text."""
    check_fleet(fleet)
    rules = {host.name: host_rules(host, families) for host in fleet.hosts}
    first = fleet.hosts[0].targets
    refresh = f"{max(5, int(min(h.targets.scrape_interval for h in fleet.hosts)))}s"
    files = {
        "prometheus/prometheus.yml": to_yaml(fleet_prometheus_config(fleet)),
        f"prometheus/{TARGETS_FILE}": to_json(target_list(fleet)),
        "prometheus/rules.yml": to_yaml(fleet_rules_document(fleet, rules)),
        "alertmanager/alertmanager.yml": to_yaml(fleet_alertmanager_config(
            [(host.name, host.plan, host.targets, rules[host.name]) for host in fleet.hosts])),
        "grafana/provisioning/datasources/opsplan.yaml": to_yaml(
            datasource_config(replace(first, prometheus=fleet.prometheus))),
        "grafana/provisioning/dashboards/opsplan.yaml": to_yaml(
            provider_config(out.resolve() / "grafana" / "dashboards")),
    }
    for name, text in cluster_args(fleet.alertmanagers, out.resolve()).items():
        files[f"alertmanager/cluster/{name}"] = text
    for board, board_json in fleet_dashboards([host.plan for host in fleet.hosts], refresh):
        files[f"grafana/dashboards/{board}.json"] = to_json(board_json)
    return files
