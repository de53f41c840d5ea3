"""One rule model for both paths: the embedded evaluator and the exported Prometheus rules.

A rule is `metric{matchers} op threshold`, held for `for_s`, optionally guarded by a second
condition on the same subject (the error rate only counts while there is traffic). Thresholds
are in the metric's own units (ratios 0..1, seconds): the plan's percentages are converted here,
once (`thresholds`), so the two paths, and the dashboards' threshold lines, cannot disagree.

The built-in rules are listed once, in `BUILT_INS`: their names are the contract, and a custom rule
may not take one (`BUILT_IN_ALERTS`). PromQL for a condition is written in one place,
`opsplan.export.promql`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from opsplan.metrics import MetricSpec
from opsplan.plan.models import CelsiusThreshold, LatencyThreshold, PercentThreshold, Plan, StateRule, Text

Severity = Literal["critical", "warning"]
Op = Literal[">", ">=", "<", "<=", "==", "!="]

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}


@dataclass(frozen=True)
class Condition:
    metric: str
    op: Op
    threshold: float
    matchers: tuple[tuple[str, str], ...] = ()

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)


@dataclass(frozen=True)
class Rule:
    id: str                      # unique and stable: "cpu.critical", "custom.MyAlert.0"
    alert: str                   # the contract name: CpuUsageHigh ...
    severity: Severity
    condition: Condition
    for_s: float
    summary: Text
    description: Text
    subject: tuple[str, ...] = ()  # labels naming what the alert is about: ("mountpoint",), ("service",)
    guard: Condition | None = None  # must also hold for the same subject (traffic for the error rate)
    # Hysteresis: once firing, the alert clears only when the value is past this level (not just
    # back across the threshold). None for state rules (up == 0) where there is nothing in between.
    clear_threshold: float | None = None
    labels: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    unit: str = ""  # of the condition's metric, from its family: "ratio", "seconds", "celsius" ...

    def clears(self, value: float) -> bool:
        """True when a firing alert may resolve on this value."""
        if self.clear_threshold is None:
            return not self.condition.holds(value)
        if self.condition.op in (">", ">="):
            return value < self.clear_threshold
        if self.condition.op in ("<", "<="):
            return value > self.clear_threshold
        return not self.condition.holds(value)


PERCENT = 0.01  # the plan's percentages to the metrics' ratios


@dataclass(frozen=True)
class BuiltIn:
    """A built-in rule: the key of its settings under monitoring.alerts (and of its rule ids), the
    contract alert name, the metric it reads, and the factor from the plan's unit to the metric's."""

    key: str
    alert: str
    metric: str
    scale: float = 1.0


BUILT_INS: tuple[BuiltIn, ...] = (
    BuiltIn("cpu", "CpuUsageHigh", "opsplan_cpu_usage_ratio", PERCENT),
    BuiltIn("memory", "MemoryUsageHigh", "opsplan_memory_usage_ratio", PERCENT),
    BuiltIn("disk", "DiskUsageHigh", "opsplan_disk_usage_ratio", PERCENT),
    BuiltIn("api_error_rate", "ApiErrorRateHigh", "opsplan_api_error_ratio", PERCENT),
    BuiltIn("api_response_time", "ApiResponseTimeHigh", "opsplan_api_response_seconds"),
    BuiltIn("gpu_temperature", "GpuTemperatureHigh", "opsplan_gpu_temperature_celsius"),
    BuiltIn("gpu_memory", "GpuMemoryHigh", "opsplan_gpu_memory_usage_ratio", PERCENT),
    BuiltIn("group_memory", "GroupMemoryOverBudget", "opsplan_group_memory_usage_ratio", PERCENT),
    BuiltIn("gpu_missing", "GpuMissing", "opsplan_gpu_missing"),
    BuiltIn("gpu_down", "GpuDown", "opsplan_gpu_up"),
    BuiltIn("gpu_xid", "GpuXidErrors", "opsplan_gpu_xid_events_recent"),
    BuiltIn("gpu_pcie_replay", "GpuPcieReplays", "opsplan_gpu_pcie_replays_recent"),
    BuiltIn("mariadb_down", "MariaDBDown", "opsplan_mariadb_up"),
    BuiltIn("api_down", "ApiDown", "opsplan_api_up"),
    BuiltIn("collector_down", "CollectorDown", "opsplan_collector_up"),
    BuiltIn("container_unhealthy", "ContainerUnhealthy", "opsplan_container_healthy"),
    BuiltIn("backup_failed", "BackupFailed", "opsplan_backup_last_status"),
    BuiltIn("backup_age", "BackupTooOld", "opsplan_backup_last_success_age_seconds"),
    BuiltIn("rpo_target", "RpoTargetExceeded", "opsplan_backup_rpo_seconds"),
    BuiltIn("drill_failed", "DrillFailed", "opsplan_drill_last_status"),
    BuiltIn("drill_rto_target", "RtoTargetMissed", "opsplan_drill_last_rto_seconds"),
    BuiltIn("drill_rpo_target", "RpoTargetMissed", "opsplan_drill_last_rpo_seconds"),
    BuiltIn("incident_overdue", "IncidentResponseOverdue", "opsplan_incidents_response_overdue"),
)
BUILT_IN: dict[str, BuiltIn] = {b.key: b for b in BUILT_INS}
# Alerts on a state (a GPU missing, MariaDB or an API down, a backup or drill failed): their value and
# threshold are 0/1 flags, not levels, so lists show `-` for them rather than `0 | 0`.
STATE_ALERTS: frozenset[str] = frozenset(
    {"GpuMissing", "GpuDown", "MariaDBDown", "ApiDown", "CollectorDown", "ContainerUnhealthy", "BackupFailed",
     "DrillFailed"})
# Every name build_rules may give a built-in rule, whichever the plan turns on.
BUILT_IN_ALERTS: frozenset[str] = frozenset(b.alert for b in BUILT_INS)


def thresholds(plan: Plan, key: str) -> dict[Severity, float]:
    """The plan's levels for the built-in threshold rule `key`, in the metric's units, critical
    first; a level the plan leaves out is absent. The one place the plan's units are converted."""
    spec = BUILT_IN[key]
    settings = getattr(plan.monitoring.alerts, key)
    severities: tuple[Severity, ...] = ("critical", "warning")
    levels: dict[Severity, float] = {}
    for severity in severities:
        value = getattr(settings, severity, None)
        if value is not None:
            levels[severity] = value * spec.scale
    return levels


def _text(ko: str, en: str) -> Text:
    return Text(ko=ko, en=en)


def _clear(threshold: float, op: str, hysteresis_pct: float) -> float:
    margin = abs(threshold) * hysteresis_pct / 100
    return threshold - margin if op in (">", ">=") else threshold + margin


def unit_of(metric: str, families: Mapping[str, MetricSpec]) -> str:
    if metric.endswith("_seconds"):
        return "seconds"
    spec = families.get(metric)
    return spec.unit if spec is not None else ""


def build_rules(plan: Plan, families: Mapping[str, MetricSpec]) -> list[Rule]:
    """Every rule the plan asks for: the seed's §3.2, the built-in ones, then the operator's.
    `families` (every stage's metric families) give each rule its metric's unit and a custom
    rule its subject labels."""
    alerts = plan.monitoring.alerts
    h = alerts.hysteresis
    rules: list[Rule] = []

    def threshold_pair(key: str, subject: tuple[str, ...], summary: Text, description: Text,
                       guard: Condition | None = None,
                       matchers: tuple[tuple[str, str], ...] = ()) -> None:
        spec = BUILT_IN[key]
        settings: PercentThreshold | LatencyThreshold | CelsiusThreshold = getattr(alerts, key)
        for severity, threshold in thresholds(plan, key).items():
            rules.append(Rule(
                id=f"{key}.{severity}", alert=spec.alert, severity=severity,
                condition=Condition(spec.metric, ">", threshold, matchers), for_s=settings.for_,
                summary=summary, description=description, subject=subject, guard=guard,
                clear_threshold=_clear(threshold, ">", h)))

    usage = _text("{subject} 사용률 {value} (임계값 {threshold})", "{subject} usage {value} (threshold {threshold})")

    def usage_of(ko: str, en: str) -> Text:
        # {subject} is the host for host-wide rules, so the text names what is used.
        return _text(f"{{subject}} {ko} 사용률 {{value}} (임계값 {{threshold}})",
                     f"{{subject}} {en} usage {{value}} (threshold {{threshold}})")
    threshold_pair("cpu", (), _text("CPU 사용률이 높습니다", "CPU usage is high"), usage_of("CPU", "CPU"))
    threshold_pair("memory", (), _text("메모리 사용률이 높습니다", "Memory usage is high"),
                   usage_of("메모리", "memory"))
    threshold_pair("disk", ("mountpoint",), _text("디스크 사용률이 높습니다", "Disk usage is high"),
                   usage_of("디스크", "disk"))
    threshold_pair("api_error_rate", ("service",),
                   _text("API 에러율이 높습니다", "API error rate is high"),
                   _text("{subject} 에러율 {value} (임계값 {threshold})", "{subject} error rate {value} "
                                                                    "(threshold {threshold})"),
                   guard=Condition("opsplan_api_requests_per_second", ">",
                                   alerts.api_error_rate.min_requests_per_second))
    # The response-time rule reads the p95 estimate, as the seed's "response time above 2 s" means
    # most requests, not the slowest one.
    threshold_pair("api_response_time", ("service",),
                   _text("API 응답 시간이 깁니다", "API response time is high"),
                   _text("{subject} p95 응답 시간 {value} (임계값 {threshold})",
                         "{subject} p95 response time {value} (threshold {threshold})"),
                   matchers=(("quantile", "0.95"),))
    threshold_pair("gpu_temperature", ("gpu", "group"),
                   _text("GPU 온도가 높습니다", "GPU temperature is high"),
                   _text("{subject} 온도 {value} (임계값 {threshold})", "{subject} temperature {value} "
                                                                  "(threshold {threshold})"))
    threshold_pair("gpu_memory", ("gpu", "group"), _text("GPU 메모리 사용률이 높습니다", "GPU memory usage is high"),
                   usage)
    threshold_pair("group_memory", ("group",),
                   _text("그룹 메모리 사용량이 할당에 가깝거나 넘었습니다",
                         "Group memory use is near or over its budget"),
                   _text("{subject} 메모리 사용 / 할당 {value} (임계값 {threshold})",
                         "{subject} memory used / budget {value} (threshold {threshold})"))

    def state(key: str, op: Op, threshold: float, subject: tuple[str, ...], summary: Text,
              description: Text) -> None:
        spec = BUILT_IN[key]
        settings: StateRule = getattr(alerts, key)
        if not settings.enabled:
            return
        rules.append(Rule(
            id=f"{key}.{settings.severity}", alert=spec.alert, severity=settings.severity,
            condition=Condition(spec.metric, op, threshold), for_s=settings.for_,
            summary=summary, description=description, subject=subject))

    state("gpu_missing", "==", 1, ("gpu", "group"),
          _text("계획된 GPU가 보이지 않습니다", "A GPU in the plan is missing"),
          _text("{subject}: NVML이 이 GPU를 보지 못합니다", "{subject}: NVML does not see this GPU"))
    state("gpu_down", "==", 0, ("gpu", "group"),
          _text("GPU가 응답하지 않습니다", "A GPU is down"),
          _text("{subject}: GPU가 버스에서 사라졌거나 드라이버에서 멈췄거나 읽을 수 없습니다 (opsplan_gpu_fault_info)",
                "{subject}: the GPU is lost, hung in the driver or unreadable (opsplan_gpu_fault_info)"))
    state("gpu_xid", ">", 0, ("gpu", "group"),
          _text("GPU에서 Xid 오류가 발생했습니다", "A GPU reported Xid errors"),
          _text("{subject}: 최근 15분 동안 Xid 이벤트 {value}개 (코드: opsplan_gpu_xid_last_code, dmesg)",
                "{subject}: {value} Xid events in the last 15 minutes (code: opsplan_gpu_xid_last_code, dmesg)"))
    state("gpu_pcie_replay", ">", 0, ("gpu", "group"),
          _text("GPU의 PCIe 재전송이 늘고 있습니다", "GPU PCIe replays are growing"),
          _text("{subject}: 최근 15분 동안 PCIe 재전송 {value}회 (라이저 또는 슬롯 점검 필요)",
                "{subject}: {value} PCIe replays in the last 15 minutes (check the riser or slot)"))
    state("mariadb_down", "==", 0, (),
          _text("MariaDB가 응답하지 않습니다", "MariaDB is down"),
          _text("MariaDB에 연결할 수 없습니다", "opsplan cannot connect to MariaDB"))
    state("api_down", "==", 0, ("service",),
          _text("API가 응답하지 않습니다", "API is down"),
          _text("{subject}: 상태 확인 실패", "{subject}: health probe failing"))
    state("collector_down", "==", 0, ("collector",),
          _text("수집기가 동작하지 않습니다", "A collector is down"),
          _text("{subject}: 수집 실패", "{subject}: collection failing"))
    state("container_unhealthy", "==", 0, ("container", "group"),
          _text("컨테이너 헬스 체크가 실패합니다", "A container is unhealthy"),
          _text("{subject}: Docker 헬스 체크 실패", "{subject}: its Docker health check fails"))
    state("backup_failed", "==", 0, ("target",),
          _text("백업이 실패했습니다", "A backup failed"),
          _text("{subject}: 마지막 백업 실패", "{subject}: the last backup failed"))
    if alerts.backup_age.enabled:
        spec = BUILT_IN["backup_age"]
        rules.append(Rule(
            id="backup_age.critical", alert=spec.alert, severity="critical",
            condition=Condition(spec.metric, ">", thresholds(plan, "backup_age")["critical"],
                                (("target", "database"),)),
            for_s=0.0, subject=("target",),
            summary=_text("데이터베이스 백업이 오래되었습니다", "Database backup is too old"),
            description=_text("마지막 성공한 백업 이후 {value} (임계값 {threshold})",
                              "{value} since the last successful backup (threshold {threshold})")))

    # The promise of recovery.rpo: the newest restorable point (archived binlog or backup) is too old.
    if alerts.rpo_target.enabled:
        spec = BUILT_IN["rpo_target"]
        rules.append(Rule(
            id=f"rpo_target.{alerts.rpo_target.severity}", alert=spec.alert,
            severity=alerts.rpo_target.severity,
            condition=Condition(spec.metric, ">", plan.recovery.rpo, (("target", "database"),)),
            for_s=alerts.rpo_target.for_, subject=("target",),
            summary=_text("복구 목표 시점(RPO)을 넘었습니다", "The RPO target is exceeded"),
            description=_text("복구 가능한 최신 시점이 {value} 전 (목표 {threshold})",
                              "the newest restorable point is {value} old (target {threshold})")))

    # The quarterly restore drill (seed §2.2): it failed, or what it measured misses the plan's targets.
    state("drill_failed", "==", 0, ("target",),
          _text("복구 훈련이 실패했습니다", "A restore drill failed"),
          _text("{subject}: 마지막 복구 훈련 실패 (opsplan drill db)",
                "{subject}: the last restore drill failed (opsplan drill db)"))
    state("drill_rto_target", ">", plan.recovery.rto, ("target",),
          _text("복구 훈련의 RTO가 목표를 넘었습니다", "The restore drill missed the RTO target"),
          _text("{subject}: 검증된 복원까지 {value} (목표 {threshold})",
                "{subject}: {value} to a verified restore (target {threshold})"))
    state("drill_rpo_target", ">", plan.recovery.rpo, ("target",),
          _text("복구 훈련의 RPO가 목표를 넘었습니다", "The restore drill missed the RPO target"),
          _text("{subject}: 복구된 최신 시점이 {value} 전 (목표 {threshold})",
                "{subject}: the newest point restored was {value} old (target {threshold})"))

    # Incidents (seed §5.1): one alert per incident severity while an open incident of it is overdue.
    state("incident_overdue", ">", 0, ("incident_severity",),
          _text("장애 응답 기한이 지났습니다", "An incident is past its response deadline"),
          _text("{subject}: 확인 또는 응답 기한이 지난 장애 {value}건 (opsplan incident list)",
                "{subject}: {value} open incident(s) past the acknowledgement or response deadline "
                "(opsplan incident list)"))

    for i, custom in enumerate(plan.monitoring.rules):
        rules.append(Rule(
            id=f"custom.{custom.alert}.{i}", alert=custom.alert, severity=custom.severity,
            condition=Condition(custom.metric, custom.op, custom.threshold, tuple(sorted(custom.match.items()))),
            for_s=custom.for_, summary=custom.summary, description=custom.description or custom.summary,
            subject=_custom_subject(custom.metric, custom.match, families), labels=(("source", "custom"),),
            clear_threshold=_clear(custom.threshold, custom.op, h) if custom.op in (">", ">=", "<", "<=") else None))
    return [replace(rule, unit=unit_of(rule.condition.metric, families)) for rule in rules]


def _custom_subject(metric: str, match: dict[str, str], families: Mapping[str, MetricSpec]) -> tuple[str, ...]:
    """Every label that tells one series of the metric from another (one alert per disk, per GPU);
    for a metric from outside opsplan, whose labels we cannot know, the labels the rule matches on."""
    spec = families.get(metric)
    return tuple(spec.labels) if spec is not None else tuple(sorted(match))
