"""The fleet's Alertmanager: each host's routes (the per-host export's, matched on its `host` label)
posting to that host's opsplan webhook or to one central opsplan, and the `--cluster.*` flags each
member of an Alertmanager cluster is started with (Debian's /etc/default/prometheus-alertmanager)."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsplan.errors import OpsplanError, said
from opsplan.export.prometheus import alertmanager_config
from opsplan.export.promql import label_value
from opsplan.export.targets import Endpoint, ExportTargets, endpoint
from opsplan.plan.models import Plan
from opsplan.rules.model import Rule

FLEET_RECEIVER = "opsplan-fleet"
# Alerts about a host as a whole (its opsplan does not answer) cannot go to that host's own webhook:
# they go to every opsplan of the fleet.
FLEET_ALERTS = ("OpsplanDown",)


@dataclass(frozen=True)
class AlertmanagerMember:
    endpoint: Endpoint  # its API, where Prometheus sends alerts
    cluster: str  # host:port it gossips on with the other members


def _receiver_name(host: str) -> str:
    return f"opsplan-{host}"


def fleet_alertmanager_config(hosts: list[tuple[str, Plan, ExportTargets, list[Rule]]]) -> dict[str, Any]:
    routes: list[dict[str, Any]] = []
    receivers: list[dict[str, Any]] = []
    inhibits: list[dict[str, Any]] = []
    everyone: dict[str, dict[str, Any]] = {}  # webhook URL -> its config, each opsplan once
    for name, plan, targets, rules in hosts:
        single = alertmanager_config(plan, rules, targets)
        receiver = _receiver_name(name)
        route = single["route"]
        route["receiver"] = receiver
        for child in route["routes"]:
            child["receiver"] = receiver
        routes.append({"matchers": [f"host={label_value(name)}"], **route})
        webhooks = single["receivers"][0]["webhook_configs"]
        receivers.append({"name": receiver, "webhook_configs": webhooks})
        for webhook in webhooks:
            everyone.setdefault(webhook["url"], webhook)
        for rule in single["inhibit_rules"]:
            if rule not in inhibits:
                inhibits.append(rule)
    fleet_route = {"matchers": [f"alertname=~{label_value('|'.join(FLEET_ALERTS))}"], "receiver": FLEET_RECEIVER}
    return {
        "route": {"receiver": FLEET_RECEIVER, "group_by": ["alertname", "host"],
                  "group_wait": routes[0]["group_wait"], "group_interval": routes[0]["group_interval"],
                  "repeat_interval": routes[0]["repeat_interval"], "routes": [fleet_route, *routes]},
        "receivers": [{"name": FLEET_RECEIVER, "webhook_configs": list(everyone.values())}, *receivers],
        "inhibit_rules": inhibits,
    }


def _host(hostport: str) -> str:
    return hostport.rsplit(":", 1)[0].strip("[]")


def _listen(cluster: str) -> str:
    """Listen on the member's own address when it is one; a name is resolved by the peers, but the
    listener needs an address, so then every interface."""
    host, port = _host(cluster), cluster.rsplit(":", 1)[1]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"0.0.0.0:{port}"
    return cluster


def member_args(members: list[AlertmanagerMember], index: int, config: Path) -> list[str]:
    member = members[index]
    args = [f"--config.file={config}", f"--web.listen-address={member.endpoint.hostport}"]
    if len(members) == 1:
        return [*args, "--cluster.listen-address="]  # no cluster: no gossip port opened
    args.append(f"--cluster.listen-address={_listen(member.cluster)}")
    if _listen(member.cluster) != member.cluster:
        args.append(f"--cluster.advertise-address={member.cluster}")
    args += [f"--cluster.peer={other.cluster}" for i, other in enumerate(members) if i != index]
    return args


def cluster_args(members: list[AlertmanagerMember], out: Path) -> dict[str, str]:
    """One Debian defaults file per member (file name: its API's host and port)."""
    config = out / "alertmanager" / "alertmanager.yml"
    files = {}
    for i, member in enumerate(members):
        others = ", ".join(m.cluster for j, m in enumerate(members) if j != i) or "none"
        text = "\n".join([
            "# Written by `opsplan fleet export`: /etc/default/prometheus-alertmanager on the member",
            f"# whose API is {member.endpoint.url}. Cluster peers: {others}.",
            "# Members gossip on their cluster port (TCP and UDP): open it between them, and only there.",
            "# Prometheus sends every alert to every member; the cluster sends each notification once,",
            "# and a member that was down catches up on silences and the notification log from its peers.",
            f"ARGS={json.dumps(' '.join(member_args(members, i, config)))}",
            "",
        ])
        files[re.sub(r"[^A-Za-z0-9.-]+", "_", member.endpoint.hostport).strip("_")] = text
    return files


CLUSTER_PORT = 9094  # Alertmanager's default gossip port


def fleet_member(url: str, cluster: str | None = None) -> AlertmanagerMember:
    api = endpoint(url, "Alertmanager URL")
    gossip = cluster or f"{api.hostport.rsplit(':', 1)[0]}:{CLUSTER_PORT}"
    host, _, port = gossip.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise said(OpsplanError, "fleet.error.cluster", value=repr(gossip[:80]))
    return AlertmanagerMember(api, gossip)
