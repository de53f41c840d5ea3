"""SLA per service per month: availability from the stored `opsplan_api_up` samples (the mean of
the store's 5-minute averages: every sampled minute weighs the same), the incident downtime of the
month beside it, against `incidents.sla.target`, and the error budget used. A service with no
sample in the month falls back to its incident downtime (critical incidents linked by an alert's
`service` label): a month the collector did not run is not a month of perfect uptime."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan import format as fmt
from opsplan.incidents.tables import IncidentAlertRow, IncidentRow
from opsplan.plan.models import Plan

STEP = 300.0  # the store's rollup step: older months are kept only as 5-minute averages


def month_range(month: str, tz: str) -> tuple[float, float]:
    """'2026-11' -> [start, end) in UTC seconds, the month as the plan's timezone counts it."""
    year, mon = (int(x) for x in month.split("-"))
    zone = fmt.zone(tz)
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=zone)
    return start.timestamp(), end.timestamp()


def _union(intervals: list[tuple[float, float]]) -> float:
    total, reach = 0.0, None
    for a, b in sorted(intervals):
        if reach is None or a > reach:
            total += b - a
            reach = b
        elif b > reach:
            total += b - reach
            reach = b
    return total


def incident_downtime(session: Session, service: str, start: float, end: float, now: float) -> float:
    """Seconds in [start, end) covered by critical incidents linked to an alert about `service`."""
    rows = session.execute(select(IncidentRow, IncidentAlertRow.labels)
                           .join(IncidentAlertRow, IncidentAlertRow.incident_id == IncidentRow.id)
                           .where(IncidentRow.severity == "critical", IncidentRow.opened_at < end,
                                  IncidentRow.status.not_in(("cancelled", "merged")))).all()
    spans = []
    for row, labels in rows:
        if json.loads(labels).get("service") != service:
            continue
        a, b = max(row.opened_at, start), min(row.resolved_at if row.resolved_at is not None else now, end)
        if b > a:
            spans.append((a, b))
    return _union(spans)


def report(session: Session, store: Any, plan: Plan, month: str, *, now: float) -> dict[str, Any]:
    """The month's SLA for every service of the plan. `store`: a MetricsStore (or None: none kept)."""
    start, end = month_range(month, plan.timezone)
    span = max(0.0, min(end, now) - start) if now > start else 0.0
    target = plan.incidents.sla.target
    allowed = (1 - target / 100) * (end - start)
    services = []
    for service in plan.services:
        found = store.query("opsplan_api_up", {"service": service.name}, start, end, STEP) if store else []
        averages = [point[2] for series in found for point in series.points]
        downtime = incident_downtime(session, service.name, start, end, now)
        if averages:
            availability = sum(averages) / len(averages)
            source, covered = "samples", len(averages) * STEP
        else:
            availability = 1 - downtime / span if span else None
            source, covered = "incidents", 0.0
        down = (1 - availability) * (end - start) if availability is not None else None
        services.append({
            "service": service.name, "availability": availability, "source": source,
            "sampled_seconds": covered, "incident_downtime": downtime, "downtime": down,
            "met": availability is not None and availability * 100 >= target - 1e-9,
            "budget_seconds": allowed, "budget_used": (down / allowed) if down is not None and allowed else None})
    return {"month": month, "start": start, "end": end, "target": target, "services": services}


def requests_failed(store: Any, services: list[str], start: float, end: float, step: float = 60.0) -> float | None:
    """Requests that failed in [start, end) for `services`: per `step`, the average request rate times
    the average error ratio times the step. None when the store has neither series for them."""
    if store is None or end <= start or not services:
        return None
    total, known = 0.0, False
    for service in services:
        rates = {p[0]: p[2] for r in store.query("opsplan_api_requests_per_second", {"service": service},
                                                 start, end, step) for p in r.points}
        ratios = {p[0]: p[2] for r in store.query("opsplan_api_error_ratio", {"service": service},
                                                  start, end, step) for p in r.points}
        for bucket in rates.keys() & ratios.keys():
            known = True
            total += rates[bucket] * ratios[bucket] * step
    return total if known else None
