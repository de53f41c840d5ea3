"""What the Metrics page charts: sections (the server, each allocation group, each GPU, each service,
MariaDB), each chart's queries against /api/v1/query, its unit and the thresholds drawn on it.

Thresholds come from the plan's alert rules as `opsplan.rules.model.build_rules` builds them (the
seed's §3.2 built-ins and the operator's own rules), in the metric's units, so a line on a chart
is exactly the level its alert fires at. Values are written by `shown` (opsplan.format); the
browser's copy of it (static/charts.js `format`) is checked against it by the browser test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opsplan import format as fmt
from opsplan.i18n import t
from opsplan.metrics import MetricSpec
from opsplan.metrics.matchers import PatternError, full_match
from opsplan.plan.models import Plan
from opsplan.rules.model import STATE_ALERTS, Rule, build_rules

# Range key -> (seconds shown, step asked for): about 240 to 360 points a chart, whatever the range.
RANGES: dict[str, tuple[float, float]] = {
    "1h": (3600.0, 15.0), "6h": (6 * 3600.0, 60.0), "24h": (86400.0, 300.0),
    "7d": (7 * 86400.0, 1800.0), "30d": (30 * 86400.0, 7200.0),
}
DEFAULT_RANGE = "1h"
_SEVERITY = {"critical": "alerts.severity.critical", "warning": "alerts.severity.warning"}
_LEVELS = (">", ">=", "<", "<=")  # a rule on a level draws a line; one on a state (== 0) does not


def shown(unit: str, value: float, language: str) -> str:
    """A chart's value as people read it, by the chart's unit: the one way both the page and its
    script write values (static/charts.js mirrors this function)."""
    if not math.isfinite(value):
        return fmt.MISSING
    if unit == "ratio":
        return fmt.percent(value, language=language)
    if unit == "bytes":
        return fmt.size_short(value)
    if unit == "seconds":
        return fmt.span(value) if abs(value) < 60 else fmt.duration(value, language=language)
    if unit == "celsius":  # as alert values write it (alerts/format.py)
        return f"{value:.0f}°C"
    if unit == "rate":
        return f"{fmt.figure(value)} req/s"
    return fmt.figure(value)


@dataclass(frozen=True)
class Query:
    """One request to /api/v1/query; each series it returns is named `label`, followed by the value
    of its label `label_by` when set (a member's name)."""

    metric: str
    match: tuple[tuple[str, str], ...] = ()
    label: str = ""
    label_by: str = ""


@dataclass(frozen=True)
class Threshold:
    severity: str
    value: float
    alert: str
    label: str  # "Warning 80% (CpuUsageHigh)", in the page's language


@dataclass
class Chart:
    id: str
    title: str
    unit: str  # ratio, bytes, seconds, celsius, rate, number
    queries: tuple[Query, ...]
    thresholds: list[Threshold] = field(default_factory=list)
    # "rate_sum": the series are counters; draw the sum of their per-second rates (CPU seconds -> cores)
    transform: str = ""
    # Why the chart can have no data whatever the range (nothing in the plan to measure), else "".
    unmeasured: str = ""

    def config(self) -> dict[str, Any]:
        """What static/charts.js needs to fetch and draw the chart (a data- attribute)."""
        return {"id": self.id, "title": self.title, "unit": self.unit, "transform": self.transform,
                "unmeasured": self.unmeasured,
                "queries": [{"metric": q.metric, "match": [f"{k}={v}" for k, v in q.match], "label": q.label,
                             "label_by": q.label_by} for q in self.queries],
                "thresholds": [{"severity": th.severity, "value": th.value, "label": th.label}
                               for th in self.thresholds]}


@dataclass
class Section:
    id: str
    title: str
    charts: list[Chart]
    note: str = ""


def _compatible(rule: Rule, match: Mapping[str, str]) -> bool:
    """Whether the rule watches (some of) the series the chart draws: none of its matchers
    contradicts the chart's (a regex matcher's key ends in '~', as the store writes it)."""
    for key, want in rule.condition.matchers:
        name = key.removesuffix("~")
        if name not in match:
            continue
        if key.endswith("~"):
            try:
                if not full_match(want, match[name]):
                    return False
            except PatternError:
                return False
        elif want != match[name]:
            return False
    return True


def thresholds_for(rules: list[Rule], query: Query, unit: str, language: str) -> list[Threshold]:
    """The levels the plan's rules put on `query`'s metric, warning before critical, lowest first."""
    found: dict[tuple[str, float, str], Threshold] = {}
    match = dict(query.match)
    for rule in rules:
        condition = rule.condition
        if (condition.metric != query.metric or condition.op not in _LEVELS or rule.alert in STATE_ALERTS
                or not _compatible(rule, match)):
            continue
        label = t("console.charts.threshold", language, severity=t(_SEVERITY[rule.severity], language),
                  threshold=shown(unit, condition.threshold, language), alert=rule.alert)
        found[(rule.severity, condition.threshold, rule.alert)] = Threshold(rule.severity, condition.threshold,
                                                                            rule.alert, label)
    order = {"warning": 0, "critical": 1}
    return sorted(found.values(), key=lambda th: (order.get(th.severity, 2), th.value))


def sections(plan: Plan, families: Mapping[str, MetricSpec], language: str) -> list[Section]:
    """Every chart of the page, section by section, with the plan's thresholds on each."""
    rules = build_rules(plan, families)
    tr = language

    def chart(chart_id: str, title: str, unit: str, *queries: Query, transform: str = "",
              unmeasured: str = "") -> Chart:
        lines = [] if transform else thresholds_for(rules, queries[0], unit, language)
        return Chart(chart_id, title, unit, queries, lines, transform, unmeasured)

    out = [Section("server", t("console.charts.server", tr), [
        chart("cpu", t("console.charts.cpu", tr), "ratio", Query("opsplan_cpu_usage_ratio", label="CPU")),
        chart("memory", t("console.charts.memory", tr), "ratio",
              Query("opsplan_memory_usage_ratio", label=t("console.charts.memory_series", tr))),
    ])]
    for group in plan.allocation:
        g = (("group", group.id),)
        why = "" if group.members else t("console.charts.no_members", tr)
        title = t("console.charts.group", tr, name=group.name.get(tr), group=group.id)
        out.append(Section(f"group-{group.id}", title, [
            chart(f"group-{group.id}-cpu", t("console.charts.group_cpu", tr), "number",
                  Query("opsplan_group_member_cpu_seconds_total", g, label="CPU"), transform="rate_sum",
                  unmeasured=why),
            chart(f"group-{group.id}-memory",
                  t("console.charts.group_memory", tr, size=fmt.size_short(group.memory)), "ratio",
                  Query("opsplan_group_memory_usage_ratio", g, label=t("console.charts.memory_series", tr)),
                  unmeasured=why),
        ]))
    groups = {group.id: group.name.get(tr) for group in plan.allocation}
    for index in plan.expected_gpus():
        gpu = (("gpu", str(index)),)
        name = groups[plan.group_of_gpu(index) or ""]  # expected GPUs are the allocation's
        label = f"GPU {index}"
        out.append(Section(f"gpu-{index}", t("console.charts.gpu", tr, gpu=index, name=name), [
            chart(f"gpu-{index}-util", t("console.charts.gpu_util", tr), "ratio",
                  Query("opsplan_gpu_utilization_ratio", gpu, label=label)),
            chart(f"gpu-{index}-memory", t("console.charts.gpu_memory", tr), "ratio",
                  Query("opsplan_gpu_memory_usage_ratio", gpu, label=label)),
            chart(f"gpu-{index}-temp", t("console.charts.gpu_temperature", tr), "celsius",
                  Query("opsplan_gpu_temperature_celsius", gpu, label=label)),
        ]))
    for number, service in enumerate(plan.services):
        s = (("service", service.name),)
        out.append(Section(f"service-{number}", t("console.charts.service", tr, service=service.name), [
            chart(f"service-{number}-p95", t("console.charts.p95", tr), "seconds",
                  Query("opsplan_api_response_seconds", (*s, ("quantile", "0.95")), label="p95")),
            chart(f"service-{number}-errors", t("console.charts.errors", tr), "ratio",
                  Query("opsplan_api_error_ratio", s, label=service.name)),
            chart(f"service-{number}-rps", t("console.charts.throughput", tr), "rate",
                  Query("opsplan_api_requests_per_second", s, label=service.name)),
            chart(f"service-{number}-users", t("console.charts.users", tr), "number",
                  Query("opsplan_api_concurrent_users", s, label=service.name)),
        ]))
    if not plan.services:
        out.append(Section("services", t("console.charts.services", tr), [],
                           note=t("console.charts.no_services", tr)))
    out.append(Section("mariadb", "MariaDB", [
        chart("mariadb-connections", t("console.charts.connections", tr), "number",
              Query("opsplan_mariadb_threads_connected", label=t("console.charts.connected", tr)),
              Query("opsplan_mariadb_max_connections", label=t("console.charts.max_connections", tr))),
    ]))
    return out
