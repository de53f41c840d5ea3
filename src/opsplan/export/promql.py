"""The shared rule model written as Prometheus alerting rules.

Each `Rule` from `opsplan.rules.model.build_rules` becomes one alerting rule with the same alert
name, severity, threshold, duration and labels. Hysteresis, which Prometheus has no setting for,
is written the way Prometheus users do it: once the alert is firing (its own `ALERTS` series), the
expression also holds while the value is still past the clear threshold.

This module is the one place PromQL is written, for the rules and for the Grafana panels alike;
`selector` quotes every label value with `label_value`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opsplan.plan.models import Plan
from opsplan.rules.model import Condition, Rule

# The alert engine reads the backup age as a gauge; Prometheus computes it at evaluation time from
# the timestamp the backup module exports, so a stopped scraper cannot freeze the age.
DERIVED_METRICS: dict[str, str] = {
    "opsplan_backup_last_success_age_seconds": "time() - opsplan_backup_last_success_timestamp_seconds",
}

# Backup metrics documented in docs/metrics.md by the backup stage; dashboards may use them too.
BACKUP_METRICS = ("opsplan_backup_last_success_timestamp_seconds", "opsplan_backup_last_size_bytes",
                  "opsplan_backup_last_duration_seconds", "opsplan_backup_last_status")

_PLACEHOLDER = re.compile(r"\{(subject|value|threshold)\}")


def label_value(value: str) -> str:
    r"""A double-quoted PromQL string: backslash, double quote, newline and every other control
    character escaped. JSON's escapes (\\ \" \n \t \uXXXX ...) are a subset of the Go escapes
    PromQL reads, so the value Prometheus matches is exactly `value`."""
    return json.dumps(value, ensure_ascii=False)


def selector(metric: str, matchers: tuple[tuple[str, str], ...]) -> str:
    inner = ",".join(f"{k}={label_value(v)}" for k, v in matchers)
    return f"{metric}{{{inner}}}" if inner else metric


def _operand(metric: str, matchers: tuple[tuple[str, str], ...]) -> str:
    derived = DERIVED_METRICS.get(metric)
    if derived is None:
        return selector(metric, matchers)
    head, _, base = derived.rpartition(" ")
    return f"({head} {selector(base, matchers)})"


def comparison(condition: Condition, threshold: float | None = None) -> str:
    value = condition.threshold if threshold is None else threshold
    return f"{_operand(condition.metric, condition.matchers)} {condition.op} {value:.10g}"


def on_subject(rule: Rule) -> str:
    return f"on({', '.join(rule.subject)})"


def rule_expr(rule: Rule) -> str:
    """`condition [or (clear-side and still firing)] [and on(subject) guard]`."""
    expr = comparison(rule.condition)
    if rule.clear_threshold is not None and rule.clear_threshold != rule.condition.threshold:
        firing = selector("ALERTS", (("alertname", rule.alert), ("alertstate", "firing"),
                                     ("severity", rule.severity), *rule.labels))
        clear_op = ">" if rule.condition.op in (">", ">=") else "<"
        held = f"{_operand(rule.condition.metric, rule.condition.matchers)} {clear_op} {rule.clear_threshold:.10g}"
        expr = f"{expr} or ({held} and {on_subject(rule)} {firing})"
    if rule.guard is not None:
        expr = f"({expr}) and {on_subject(rule)} ({comparison(rule.guard)})"
    return expr


def duration(seconds: float) -> str:
    """Prometheus duration syntax; whole seconds when possible, else milliseconds."""
    if seconds == int(seconds):
        whole = int(seconds)
        for unit, size in (("h", 3600), ("m", 60)):
            if whole and whole % size == 0:
                return f"{whole // size}{unit}"
        return f"{whole}s"
    return f"{round(seconds * 1000)}ms"


def value_template(unit: str) -> str:
    if unit == "ratio":
        return "{{ $value | humanizePercentage }}"
    if unit == "seconds":
        return "{{ $value | humanizeDuration }}"
    if unit == "celsius":
        return '{{ printf "%.0f" $value }}°C'
    return "{{ $value | humanize }}"


def threshold_text(unit: str, threshold: float) -> str:
    if unit == "ratio":
        return f"{threshold * 100:g}%"
    if unit == "seconds":
        return duration(threshold) if threshold >= 60 else f"{threshold:g}s"
    if unit == "celsius":
        return f"{threshold:g}°C"
    return f"{threshold:g}"


def subject_template(rule: Rule, plan: Plan) -> str:
    """What the alert is about, as the embedded engine names it (alerts/format.py subject_text)."""
    return " ".join(f"{name} {{{{ $labels.{name} }}}}" for name in rule.subject)


def fill(text: str, rule: Rule, plan: Plan) -> str:
    # Literal braces in an operator's text must not become Go template actions.
    escaped = re.sub(r"\{\{|\}\}", lambda m: "{{ `" + m.group() + "` }}", text)
    values = {"subject": subject_template(rule, plan), "value": value_template(rule.unit),
              "threshold": threshold_text(rule.unit, rule.condition.threshold)}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], escaped).strip()


def alerting_rule(rule: Rule, plan: Plan) -> dict[str, Any]:
    language = plan.language
    body: dict[str, Any] = {"alert": rule.alert, "expr": rule_expr(rule)}
    if rule.for_s > 0:
        body["for"] = duration(rule.for_s)
    body["labels"] = {"severity": rule.severity, **dict(rule.labels)}
    body["annotations"] = {
        "summary": fill(rule.summary.get(language), rule, plan),
        "description": fill(rule.description.get(language), rule, plan),
        "threshold": threshold_text(rule.unit, rule.condition.threshold),
        "opsplan_rule": rule.id,
    }
    return body


def rules_document(rules: list[Rule], plan: Plan) -> dict[str, Any]:
    return {"groups": [{"name": "opsplan", "rules": [alerting_rule(r, plan) for r in rules]}]}


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_OPSPLAN_METRIC = re.compile(r"\b(opsplan_[a-z0-9_]+)\b(\{)?")


def with_matcher(expr: str, matcher: str) -> str:
    """`expr` with `matcher` (such as `host=~"$host"`) added to every opsplan metric it selects, so a
    query written for one host reads the host a dashboard variable picks. Quoted label values are
    left alone: a service named like a metric is not a selector."""
    def scope(segment: str) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(2) is None:
                return f"{match.group(1)}{{{matcher}}}"
            closes = segment[match.end():match.end() + 1] == "}"
            return f"{match.group(1)}{{{matcher}{'' if closes else ','}"
        return _OPSPLAN_METRIC.sub(one, segment)

    parts: list[str] = []
    last = 0
    for quoted in _STRING.finditer(expr):
        parts += [scope(expr[last:quoted.start()]), quoted.group()]
        last = quoted.end()
    parts.append(scope(expr[last:]))
    return "".join(parts)
