"""Incident figures over a period: MTTA and MTTR per severity (median and p90), deadline breaches,
incidents per month, the noisiest alert rules, and histograms of the time to acknowledge and to
resolve. Cancelled (false positive) and merged incidents are left out: they are not incidents."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsplan import format as fmt
from opsplan.incidents.tables import IncidentAlertRow, IncidentRow
from opsplan.plan.models import Plan

# Histogram bucket bounds in seconds (1 min .. 1 day), like Prometheus `le` buckets, cumulative.
BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0)
LEFT_OUT = ("cancelled", "merged")


def p90(values: list[float]) -> float | None:
    """Nearest rank: the smallest value with at least 90 % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _summary(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "median": statistics.median(values) if values else None, "p90": p90(values)}


def histogram(values: list[float]) -> dict[str, int]:
    """Cumulative counts per upper bound ("60", ..., "+Inf")."""
    out = {f"{bound:g}": sum(v <= bound for v in values) for bound in BUCKETS}
    out["+Inf"] = len(values)
    return out


def figures(session: Session, plan: Plan, start: float, end: float, *, top: int = 5) -> dict[str, Any]:
    """The figures of the incidents opened in [start, end)."""
    rows = session.execute(select(IncidentRow).where(IncidentRow.opened_at >= start, IncidentRow.opened_at < end,
                                                     IncidentRow.status.not_in(LEFT_OUT))).scalars().all()
    by_severity: dict[str, Any] = {}
    for name in plan.incidents.severities:
        mine = [r for r in rows if r.severity == name]
        ack = [r.ack_at - r.opened_at for r in mine if r.ack_at is not None]
        resolve = [r.resolved_at - r.opened_at for r in mine if r.resolved_at is not None]
        by_severity[name] = {
            "incidents": len(mine), "mtta": _summary(ack), "mttr": _summary(resolve),
            "ack_breaches": sum(r.ack_breached_at is not None for r in mine),
            "respond_breaches": sum(r.respond_breached_at is not None for r in mine),
            "ack_histogram": histogram(ack), "resolve_histogram": histogram(resolve)}
    months = Counter(datetime.fromtimestamp(r.opened_at, fmt.zone(plan.timezone)).strftime("%Y-%m") for r in rows)
    ids = [r.id for r in rows]
    noisy = session.execute(select(IncidentAlertRow.alert, func.count()).where(IncidentAlertRow.incident_id.in_(ids))
                            .group_by(IncidentAlertRow.alert).order_by(func.count().desc(), IncidentAlertRow.alert)
                            .limit(top)).all() if ids else []
    return {"start": start, "end": end, "incidents": len(rows), "by_severity": by_severity,
            "per_month": dict(sorted(months.items())),
            "noisiest_alerts": [{"alert": alert, "incidents": n} for alert, n in noisy]}
