"""What the incident stage does on each of `serve`'s cycles: record passed deadlines, export counts."""

from __future__ import annotations

import logging
from collections.abc import Callable

from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.metrics import incident_samples
from opsplan.metrics import Cycle

log = logging.getLogger(__name__)


class IncidentCycle:
    def __init__(self, incidents: Incidents, catch_up: Callable[[], object] | None = None):
        self.incidents = incidents
        # Run once, on the first cycle (after the alert rules' first pass has loaded their state):
        # alerts that fired while no incident stage listened (serve down, an error) still open theirs.
        self._catch_up = catch_up

    def __call__(self, cycle: Cycle) -> None:
        if self._catch_up is not None:
            catch_up, self._catch_up = self._catch_up, None
            catch_up()
        breaches, counts = self.incidents.evaluate(cycle.timestamp)
        for breach in breaches:
            log.warning("incident %d (%s): the %s deadline passed unmet", breach.incident_id, breach.severity,
                        breach.deadline)
        cycle.samples.extend(incident_samples(counts))
