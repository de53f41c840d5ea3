"""Metrics the alert engine adds to each cycle (documented in docs/metrics-alerts.md)."""

from __future__ import annotations

from opsplan.metrics import MetricSpec, gauge

METRICS: dict[str, MetricSpec] = {
    "opsplan_alerts_firing": gauge("Alerts firing now, by severity (inhibited and silenced included)",
                                   "severity"),
    "opsplan_alerts_pending": gauge("Alerts whose condition holds but not yet for the rule's duration"),
    "opsplan_alert_rules": gauge("Alert rules evaluated each cycle"),
    "opsplan_rule_evaluation_seconds": gauge("Time the last rule evaluation took", unit="seconds"),
}
