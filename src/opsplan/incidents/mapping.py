"""Which alert opens which incident: the plan's `incidents.from_alerts`, first match wins, and the
dedup key that makes the alerts of one subject one incident."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opsplan.plan.models import AlertMapping

SEVERITY_ORDER = {"minor": 0, "major": 1, "critical": 2}
# Alerts about the incidents themselves never open one: an overdue incident as a new incident would
# itself be overdue by the next deadline, an incident about an incident nobody needs.
ABOUT_INCIDENTS = frozenset({"IncidentResponseOverdue"})


def incident_severity(mappings: Sequence[AlertMapping], alert: str, severity: str,
                      labels: Mapping[str, str]) -> str | None:
    """The incident severity an alert maps to, or None: it opens no incident (it only warns)."""
    if alert in ABOUT_INCIDENTS:
        return None
    for entry in mappings:
        if entry.alerts and alert not in entry.alerts:
            continue
        if entry.severity is not None and entry.severity != severity:
            continue
        if any(labels.get(name) != value for name, value in entry.match.items()):
            continue
        return entry.incident
    return None


def dedup_key(host: str, subject: str) -> str:
    """One key per subject on one host ("service llm-api"): ApiDown and ApiErrorRateHigh of the same
    service join one incident; the host's own alerts (subject "") share the host's key."""
    return f"{host}|{subject}"


def more_severe(a: str, b: str) -> bool:
    return SEVERITY_ORDER.get(a, -1) > SEVERITY_ORDER.get(b, -1)
