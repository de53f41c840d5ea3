"""One rule model for both paths: the embedded evaluator and the exported Prometheus rules.

A rule is `metric{matchers} op threshold`, held for `for_s`, optionally guarded by a second
condition on the same subject (the error rate only counts while there is traffic). Thresholds
are in the metric's own units (ratios 0..1, seconds): the plan's percentages are converted here,
once, so the two paths cannot disagree.
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

    def promql(self) -> str:
        selector = ",".join(f'{k}="{v}"' for k, v in self.matchers)
        return f"{self.metric}{{{selector}}} {self.op} {self.threshold:g}" if selector else \
            f"{self.metric} {self.op} {self.threshold:g}"


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

    def threshold_pair(key: str, alert: str, metric: str, scale: float, subject: tuple[str, ...],
                       settings: PercentThreshold | LatencyThreshold | CelsiusThreshold, summary: Text,
                       description: Text,
                       guard: Condition | None = None) -> None:
        severities: tuple[Severity, ...] = ("critical", "warning")
        for severity in severities:
            value = getattr(settings, severity)
            if value is None:
                continue
            threshold = value * scale
            rules.append(Rule(
                id=f"{key}.{severity}", alert=alert, severity=severity,
                condition=Condition(metric, ">", threshold), for_s=settings.for_,
                summary=summary, description=description, subject=subject, guard=guard,
                clear_threshold=_clear(threshold, ">", h)))

    usage = _text("{subject} 사용률 {value} (임계값 {threshold})", "{subject} usage {value} (threshold {threshold})")

    def usage_of(ko: str, en: str) -> Text:
        # {subject} is the host for host-wide rules, so the text names what is used.
        return _text(f"{{subject}} {ko} 사용률 {{value}} (임계값 {{threshold}})",
                     f"{{subject}} {en} usage {{value}} (threshold {{threshold}})")
    threshold_pair("cpu", "CpuUsageHigh", "opsplan_cpu_usage_ratio", 0.01, (), alerts.cpu,
                   _text("CPU 사용률이 높습니다", "CPU usage is high"), usage_of("CPU", "CPU"))
    threshold_pair("memory", "MemoryUsageHigh", "opsplan_memory_usage_ratio", 0.01, (), alerts.memory,
                   _text("메모리 사용률이 높습니다", "Memory usage is high"), usage_of("메모리", "memory"))
    threshold_pair("disk", "DiskUsageHigh", "opsplan_disk_usage_ratio", 0.01, ("mountpoint",), alerts.disk,
                   _text("디스크 사용률이 높습니다", "Disk usage is high"), usage_of("디스크", "disk"))
    threshold_pair("api_error_rate", "ApiErrorRateHigh", "opsplan_api_error_ratio", 0.01, ("service",),
                   alerts.api_error_rate,
                   _text("API 에러율이 높습니다", "API error rate is high"),
                   _text("{subject} 에러율 {value} (임계값 {threshold})", "{subject} error rate {value} "
                                                                    "(threshold {threshold})"),
                   guard=Condition("opsplan_api_requests_per_second", ">",
                                   alerts.api_error_rate.min_requests_per_second))
    threshold_pair("api_response_time", "ApiResponseTimeHigh", "opsplan_api_response_seconds", 1.0,
                   ("service",), alerts.api_response_time,
                   _text("API 응답 시간이 깁니다", "API response time is high"),
                   _text("{subject} p95 응답 시간 {value} (임계값 {threshold})",
                         "{subject} p95 response time {value} (threshold {threshold})"))
    # The response-time rule reads the p95 estimate, as the seed's "response time above 2 s" means
    # most requests, not the slowest one.
    rules[:] = [_with_matchers(r, (("quantile", "0.95"),)) if r.alert == "ApiResponseTimeHigh" else r
                for r in rules]

    threshold_pair("gpu_temperature", "GpuTemperatureHigh", "opsplan_gpu_temperature_celsius", 1.0,
                   ("gpu", "group"), alerts.gpu_temperature,
                   _text("GPU 온도가 높습니다", "GPU temperature is high"),
                   _text("{subject} 온도 {value} (임계값 {threshold})", "{subject} temperature {value} "
                                                                  "(threshold {threshold})"))
    threshold_pair("gpu_memory", "GpuMemoryHigh", "opsplan_gpu_memory_usage_ratio", 0.01, ("gpu", "group"),
                   alerts.gpu_memory, _text("GPU 메모리 사용률이 높습니다", "GPU memory usage is high"), usage)

    def state(key: str, alert: str, metric: str, op: Op, threshold: float, subject: tuple[str, ...],
              settings: StateRule, summary: Text, description: Text) -> None:
        if not settings.enabled:
            return
        rules.append(Rule(
            id=f"{key}.{settings.severity}", alert=alert, severity=settings.severity,
            condition=Condition(metric, op, threshold), for_s=settings.for_,
            summary=summary, description=description, subject=subject))

    state("gpu_missing", "GpuMissing", "opsplan_gpu_missing", "==", 1, ("gpu", "group"), alerts.gpu_missing,
          _text("계획된 GPU가 보이지 않습니다", "A GPU in the plan is missing"),
          _text("{subject}: NVML이 이 GPU를 보지 못합니다", "{subject}: NVML does not see this GPU"))
    state("mariadb_down", "MariaDBDown", "opsplan_mariadb_up", "==", 0, (), alerts.mariadb_down,
          _text("MariaDB가 응답하지 않습니다", "MariaDB is down"),
          _text("MariaDB에 연결할 수 없습니다", "opsplan cannot connect to MariaDB"))
    state("api_down", "ApiDown", "opsplan_api_up", "==", 0, ("service",), alerts.api_down,
          _text("API가 응답하지 않습니다", "API is down"),
          _text("{subject}: 상태 확인 실패", "{subject}: health probe failing"))
    state("collector_down", "CollectorDown", "opsplan_collector_up", "==", 0, ("collector",),
          alerts.collector_down, _text("수집기가 동작하지 않습니다", "A collector is down"),
          _text("{subject}: 수집 실패", "{subject}: collection failing"))
    state("backup_failed", "BackupFailed", "opsplan_backup_last_status", "==", 0, ("target",),
          alerts.backup_failed, _text("백업이 실패했습니다", "A backup failed"),
          _text("{subject}: 마지막 백업 실패", "{subject}: the last backup failed"))
    if alerts.backup_age.enabled:
        threshold = alerts.backup_age.critical
        rules.append(Rule(
            id="backup_age.critical", alert="BackupTooOld", severity="critical",
            condition=Condition("opsplan_backup_last_success_age_seconds", ">", threshold,
                                (("target", "database"),)),
            for_s=0.0, subject=("target",),
            summary=_text("데이터베이스 백업이 오래되었습니다", "Database backup is too old"),
            description=_text("마지막 성공한 백업 이후 {value} (임계값 {threshold})",
                              "{value} since the last successful backup (threshold {threshold})")))

    # The promise of recovery.rpo: the newest restorable point (archived binlog or backup) is too old.
    if alerts.rpo_target.enabled:
        rules.append(Rule(
            id=f"rpo_target.{alerts.rpo_target.severity}", alert="RpoTargetExceeded",
            severity=alerts.rpo_target.severity,
            condition=Condition("opsplan_backup_rpo_seconds", ">", plan.recovery.rpo, (("target", "database"),)),
            for_s=alerts.rpo_target.for_, subject=("target",),
            summary=_text("복구 목표 시점(RPO)을 넘었습니다", "The RPO target is exceeded"),
            description=_text("복구 가능한 최신 시점이 {value} 전 (목표 {threshold})",
                              "the newest restorable point is {value} old (target {threshold})")))

    # The quarterly restore drill (seed §2.2): it failed, or what it measured misses the plan's targets.
    state("drill_failed", "DrillFailed", "opsplan_drill_last_status", "==", 0, ("target",), alerts.drill_failed,
          _text("복구 훈련이 실패했습니다", "A restore drill failed"),
          _text("{subject}: 마지막 복구 훈련 실패 (opsplan drill db)",
                "{subject}: the last restore drill failed (opsplan drill db)"))
    state("drill_rto_target", "RtoTargetMissed", "opsplan_drill_last_rto_seconds", ">", plan.recovery.rto,
          ("target",), alerts.drill_rto_target,
          _text("복구 훈련의 RTO가 목표를 넘었습니다", "The restore drill missed the RTO target"),
          _text("{subject}: 검증된 복원까지 {value} (목표 {threshold})",
                "{subject}: {value} to a verified restore (target {threshold})"))
    state("drill_rpo_target", "RpoTargetMissed", "opsplan_drill_last_rpo_seconds", ">", plan.recovery.rpo,
          ("target",), alerts.drill_rpo_target,
          _text("복구 훈련의 RPO가 목표를 넘었습니다", "The restore drill missed the RPO target"),
          _text("{subject}: 복구된 최신 시점이 {value} 전 (목표 {threshold})",
                "{subject}: the newest point restored was {value} old (target {threshold})"))

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


def _with_matchers(rule: Rule, matchers: tuple[tuple[str, str], ...]) -> Rule:
    from dataclasses import replace

    return replace(rule, condition=replace(rule.condition, matchers=matchers))
