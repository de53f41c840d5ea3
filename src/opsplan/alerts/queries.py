"""What the CLI and the API read and write directly in the state database: alert lists
(grouped by subject) and acknowledgements. Works without `opsplan serve` running."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select, update

from opsplan.alerts.errors import AlertError, NotFound
from opsplan.alerts.silences import Silence, load_silences, silenced_by
from opsplan.alerts.tables import AlertRow
from opsplan.errors import said
from opsplan.rules.model import STATE_ALERTS
from opsplan.store.state import StateDB, max_length, too_long

STATES = ("pending", "firing", "resolved")
SEVERITIES = ("critical", "warning")
HISTORY_LIMIT = 500


def _alert_dict(row: AlertRow, silences: Sequence[Silence], now: float) -> dict[str, Any]:
    labels = json.loads(row.labels)
    texts = json.loads(row.texts)
    if row.alert in STATE_ALERTS:  # a flag, not a level: nothing to show (the CLI prints "-")
        texts = {**texts, "value": "", "threshold": ""}
    ack = None if row.ack_at is None else {"by": row.ack_by, "at": row.ack_at, "comment": row.ack_comment or ""}
    return {
        "fingerprint": row.fingerprint, "alert": row.alert, "severity": row.severity, "state": row.state,
        "source": row.source, "rule_id": row.rule_id, "labels": labels, "subject": row.subject,
        "value": row.value, "threshold": row.threshold, "value_text": texts.get("value", ""),
        "threshold_text": texts.get("threshold", ""), "for_s": row.for_s,
        "summary": texts.get("summary", {}), "description": texts.get("description", {}),
        "active_since": row.active_since, "started_at": row.started_at, "resolved_at": row.resolved_at,
        "resolved_reason": row.resolved_reason, "inhibited": row.inhibited and row.state != "resolved",
        "silenced_by": silenced_by(silences, labels, now) if row.state != "resolved" else [],
        "acknowledged": ack, "annotations": json.loads(row.annotations),
    }


def list_alerts(db: StateDB, now: float, *, include_resolved: bool = False, state: str | None = None,
                severity: str | None = None) -> list[dict[str, Any]]:
    """Unresolved alerts (and, with include_resolved, the latest resolved ones), newest first."""
    if state is not None and state not in STATES:
        raise AlertError(f"state: expected one of {', '.join(STATES)}, got {state!r}")
    if severity is not None and severity not in SEVERITIES:
        raise AlertError(f"severity: expected one of {', '.join(SEVERITIES)}, got {severity!r}")
    query = select(AlertRow).order_by(AlertRow.active_since.desc(), AlertRow.id.desc())
    if state is not None:
        query = query.where(AlertRow.state == state)
    if not include_resolved and state != "resolved":
        query = query.where(AlertRow.resolved_at.is_(None))
    if severity is not None:
        query = query.where(AlertRow.severity == severity)
    with db.session() as session:
        rows = session.scalars(query.limit(HISTORY_LIMIT)).all()
    silences = load_silences(db, now)
    return [_alert_dict(row, silences, now) for row in rows]


def group_by_subject(alerts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One group per subject ("" is the host itself), firing criticals first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        groups.setdefault(alert["subject"], []).append(alert)

    order = {"firing": 0, "pending": 1, "resolved": 2}

    def rank(alert: dict[str, Any]) -> tuple[int, int]:
        severity = SEVERITIES.index(alert["severity"]) if alert["severity"] in SEVERITIES else 2
        return order.get(alert["state"], 3), severity

    out: list[dict[str, Any]] = []
    for subject, members in groups.items():
        members.sort(key=rank)
        out.append({"subject": subject, "alerts": members})
    out.sort(key=lambda g: rank(g["alerts"][0]))
    return out


def acknowledge(db: StateDB, fingerprint: str, *, by: str, comment: str, now: float) -> dict[str, Any]:
    """Acknowledge the unresolved alert with this fingerprint: its repeats stop. NotFound otherwise."""
    if not by.strip():
        raise AlertError("an acknowledgement needs a name (--by)")
    table = cast(Table, AlertRow.__table__)
    if too_long(by.strip(), table.c.ack_by):
        raise said(AlertError, "alerts.error.ack_by_too_long", n=max_length(table.c.ack_by))
    with db.session() as session:
        row = session.scalars(select(AlertRow).where(AlertRow.fingerprint == fingerprint,
                                                     AlertRow.resolved_at.is_(None))).first()
        if row is None:
            raise NotFound(f"no unresolved alert with fingerprint {fingerprint!r}")
        session.execute(update(table).where(table.c.id == row.id)
                        .values(ack_by=by.strip(), ack_at=now, ack_comment=comment))
        row_id = row.id
    with db.session() as session:
        fresh = session.get(AlertRow, row_id)
        assert fresh is not None
        return _alert_dict(fresh, load_silences(db, now), now)
