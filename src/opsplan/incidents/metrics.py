"""The incident stage's metric families (docs/metrics-incidents.md) and their samples."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsplan.metrics import MetricSpec, Sample, sample
from opsplan.metrics.samples import counter, gauge

if TYPE_CHECKING:  # the families are read by every plan load; the tables load with serve
    from opsplan.incidents.lifecycle import Counts

METRICS: dict[str, MetricSpec] = {
    "opsplan_incidents_open": gauge("Incidents open (triggered, acknowledged or in a stage), per severity",
                                    "severity"),
    "opsplan_incidents_overdue": gauge(
        "Open incidents with a response deadline passed unmet (acknowledgement or response), per severity",
        "severity"),
    "opsplan_incident_deadline_breaches_total": counter(
        "Response deadlines breached, ever, per severity and deadline (ack or respond)", "severity", "deadline"),
    # Read by a collector, so the alert rules see it in the same cycle (IncidentResponseOverdue); its
    # label is not `severity`, which on an alert is the alert's own.
    "opsplan_incidents_response_overdue": gauge(
        "Open incidents past their acknowledgement or response deadline, per incident severity, read "
        "before the alert rules run", "incident_severity"),
}


def incident_samples(counts: Counts) -> list[Sample]:
    opened, overdue, breaches = counts
    out = [sample("opsplan_incidents_open", n, severity=s) for s, n in opened.items()]
    out += [sample("opsplan_incidents_overdue", n, severity=s) for s, n in overdue.items()]
    out += [sample("opsplan_incident_deadline_breaches_total", n, severity=s, deadline=d)
            for (s, d), n in breaches.items()]
    return out
