"""Alerts from an external Prometheus, as Alertmanager's webhook (payload version 4) posts them.

Alertmanager re-posts a firing alert every repeat interval and a group's resolved alerts more than
once; the engine keys them by fingerprint and acts only on a change of status, so each firing and
each resolved is noticed once.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsplan.alerts.errors import AlertError
from opsplan.alerts.instance import Instance, subject_key
from opsplan.alerts.times import checked_time


@dataclass(frozen=True)
class ExternalAlert:
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float | None
    ends_at: float | None

    def texts(self) -> dict[str, Any]:
        summary = self.annotations.get("summary") or self.labels.get("alertname", "")
        description = self.annotations.get("description") or summary
        return {"summary": {"ko": self.annotations.get("summary_ko", summary), "en": summary},
                "description": {"ko": self.annotations.get("description_ko", description), "en": description},
                "value": self.annotations.get("value", ""), "threshold": self.annotations.get("threshold", "")}

    def instance(self, now: float) -> Instance:
        severity = self.labels.get("severity", "warning")
        subject = " ".join(f"{k} {v}" for k, v in sorted(self.labels.items())
                           if k not in ("alertname", "severity", "job", "instance"))
        return Instance(
            fingerprint=self.fingerprint, source="prometheus", rule_id=f"external.{self.labels.get('alertname', '')}",
            alert=self.labels.get("alertname", "unnamed"), severity=severity if severity in ("critical", "warning")
            else "warning", labels=dict(self.labels), subject=subject, subject_key=subject_key(self.labels),
            state="firing", value=_number(self.annotations.get("value")),
            threshold=_number(self.annotations.get("threshold")), for_s=0.0, texts=self.texts(),
            annotations=dict(self.annotations), active_since=self.starts_at or now,
            started_at=self.starts_at or now, last_seen=now)


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _time(text: Any, where: str) -> float | None:
    if not text or not isinstance(text, str) or text.startswith("0001-01-01"):  # Go's zero time: unset
        return None
    try:
        seconds = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        raise AlertError(f"{where}: not an RFC 3339 time: {text[:40]!r}") from None
    return checked_time(seconds, where)  # 9999-12-31 would overflow when a notification shows it in KST


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise AlertError(f"{where}: expected an object of strings")
    return dict(value)


def parse_payload(payload: Any) -> list[ExternalAlert]:
    """Validated alerts of one webhook post; AlertError (one line) on anything malformed."""
    if not isinstance(payload, dict):
        raise AlertError("webhook payload: expected a JSON object")
    version = payload.get("version")
    if version is not None and str(version) != "4":
        raise AlertError(f"webhook payload: version {version!r} not supported (expected \"4\")")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise AlertError("webhook payload: alerts: expected a list")
    parsed = []
    for i, alert in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(alert, dict):
            raise AlertError(f"{where}: expected an object")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise AlertError(f"{where}.status: expected firing or resolved, got {str(status)[:20]!r}")
        labels = _strings(alert.get("labels"), f"{where}.labels")
        if not labels.get("alertname"):
            raise AlertError(f"{where}.labels: alertname is missing")
        fingerprint = alert.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint.strip():
            fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        parsed.append(ExternalAlert(fingerprint[:64], status, labels, _strings(alert.get("annotations"),
                                    f"{where}.annotations"), _time(alert.get("startsAt"), f"{where}.startsAt"),
                                    _time(alert.get("endsAt"), f"{where}.endsAt")))
    return parsed
