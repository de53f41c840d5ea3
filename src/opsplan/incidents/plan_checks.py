"""The incident stage's checks of `plan.incidents`: severities the mapping names, alert names it
knows, business hours that exist, a holiday country the `holidays` package knows."""

from __future__ import annotations

from collections.abc import Iterator

from opsplan.incidents.business_hours import holidays_available
from opsplan.incidents.mapping import ABOUT_INCIDENTS
from opsplan.plan.models import Plan
from opsplan.plan.semantic import CheckContext, Problem
from opsplan.plan.types import format_duration
from opsplan.rules.model import BUILT_IN_ALERTS


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def incident_problems(plan: Plan, context: CheckContext) -> Iterator[Problem]:
    incidents = plan.incidents
    known = list(incidents.severities)
    alerts = set(BUILT_IN_ALERTS) | {rule.alert for rule in plan.monitoring.rules}
    for i, entry in enumerate(incidents.from_alerts):
        if entry.incident not in incidents.severities:
            yield Problem.said(("incidents", "from_alerts", i, "incident"), "incident.plan.unknown_severity",
                               severity=entry.incident, known=", ".join(known))
        unknown = [name for name in entry.alerts if name not in alerts]
        if unknown and not entry.external:
            yield Problem.said(("incidents", "from_alerts", i, "alerts"), "incident.plan.unknown_alert",
                               alert=", ".join(unknown))
        about = sorted(ABOUT_INCIDENTS.intersection(entry.alerts))
        if about:
            yield Problem.said(("incidents", "from_alerts", i, "alerts"), "incident.plan.about_incidents",
                               alert=", ".join(about))
    for name, level in incidents.severities.items():
        # "Respond within 2 h" cannot be met by someone who may take 3 h to acknowledge.
        if 0 < level.response < level.acknowledge:
            yield Problem.said(("incidents", "severities", name, "acknowledge"), "incident.plan.ack_after_response",
                               ack=format_duration(level.acknowledge), respond=format_duration(level.response))
    hours = incidents.business_hours
    where = ("incidents", "business_hours")
    if not hours.days:
        yield Problem.said((*where, "days"), "incident.plan.no_days")
    if _minutes(hours.end) <= _minutes(hours.start):
        yield Problem.said((*where, "end"), "incident.plan.end_before_start", start=hours.start, end=hours.end)
    if hours.public_holidays and holidays_available():
        import holidays

        if hours.public_holidays not in holidays.list_supported_countries():
            yield Problem.said((*where, "public_holidays"), "incident.plan.unknown_country",
                               country=hours.public_holidays)
