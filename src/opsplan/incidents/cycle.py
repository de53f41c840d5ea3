"""What the incident stage does on each of `serve`'s cycles: record passed deadlines, export counts."""

from __future__ import annotations

import logging

from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.metrics import incident_samples
from opsplan.metrics import Cycle

log = logging.getLogger(__name__)


class IncidentCycle:
    def __init__(self, incidents: Incidents):
        self.incidents = incidents

    def __call__(self, cycle: Cycle) -> None:
        breaches, counts = self.incidents.evaluate(cycle.timestamp)
        for breach in breaches:
            log.warning("incident %d (%s): the %s deadline passed unmet", breach.incident_id, breach.severity,
                        breach.deadline)
        cycle.samples.extend(incident_samples(counts))
