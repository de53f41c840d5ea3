"""The fleet's Grafana dashboards: the per-host dashboards with a `host` variable that every query
reads, plus one fleet view (which hosts answer, what fires where) from the fleet's recording rules.

Hosts with different plans (other services, other allocation groups) share one dashboard per kind:
a panel one host's plan has and another's lacks is kept once, with the first plan's thresholds."""

from __future__ import annotations

from typing import Any

from opsplan.export.grafana import DATASOURCE_UID, Dashboard, Panel, dashboard_json, dashboards
from opsplan.export.promql import with_matcher
from opsplan.plan.models import Plan

HOST_QUERY = 'label_values(up{job="opsplan"}, host)'
HOST_VARIABLE: dict[str, Any] = {
    "name": "host", "label": "host", "type": "query",
    "datasource": {"type": "prometheus", "uid": DATASOURCE_UID},
    "definition": HOST_QUERY, "query": {"query": HOST_QUERY, "refId": "host"},
    "refresh": 2,  # on time-range change: a host added to the target list shows up
    "multi": True, "includeAll": True, "allValue": ".+", "sort": 1, "current": {},
}


def fleet_view() -> Dashboard:
    return Dashboard("opsplan-fleet", "opsplan · fleet", ["opsplan", "fleet"], [
        Panel("opsplan answering Prometheus", (("opsplan:host_up", "{{host}}"),), kind="stat", thresholds=(1,)),
        Panel("Alerts firing", (("opsplan:alerts_firing:count", "{{host}} {{severity}}"),)),
    ])


def _merged(plans: list[Plan]) -> list[Dashboard]:
    boards: dict[str, Dashboard] = {}
    for plan in plans:
        for board in dashboards(plan):
            kept = boards.setdefault(board.uid, board)
            if kept is not board:
                titles = {panel.title for panel in kept.panels}
                kept.panels += [panel for panel in board.panels if panel.title not in titles]
    return list(boards.values())


def fleet_dashboards(plans: list[Plan], refresh: str) -> list[tuple[str, dict[str, Any]]]:
    """(uid, dashboard JSON) for the fleet view and each per-host dashboard."""
    out = [(fleet_view().uid, dashboard_json(fleet_view(), refresh))]
    for board in _merged(plans):
        document = dashboard_json(board, refresh)
        if board.uid == "opsplan-overview":
            document["title"] = "opsplan · $host"  # the first plan's server name would name one host
        for panel in document["panels"]:
            for target in panel["targets"]:
                target["expr"] = with_matcher(target["expr"], 'host=~"$host"')
                target["legendFormat"] = f"{{{{host}}}} {target['legendFormat']}"
        document["templating"]["list"] = [HOST_VARIABLE]
        out.append((board.uid, document))
    return out
