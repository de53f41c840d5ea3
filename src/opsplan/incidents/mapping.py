"""Which alert opens which incident: the plan's `incidents.from_alerts`, first match wins, and the
dedup key that makes the alerts of one subject one incident."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from opsplan.incidents.tables import DEDUP_KEY_LENGTH
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
    return fitted_key(f"{host}|{subject}")


def fitted_key(key: str) -> str:
    """`key` itself when it fits the column, else its head and a digest of the whole: PostgreSQL and
    MariaDB refuse a longer value (the incident would not open), and a plain cut could join two
    alerts whose long subjects differ only at the end."""
    if len(key) <= DEDUP_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[:DEDUP_KEY_LENGTH - len(digest) - 1]}#{digest}"


def more_severe(a: str, b: str) -> bool:
    return SEVERITY_ORDER.get(a, -1) > SEVERITY_ORDER.get(b, -1)
