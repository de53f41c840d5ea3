"""What the incident stage does on each of `serve`'s cycles: record passed deadlines, export counts."""

from __future__ import annotations

import logging
from collections.abc import Callable

from opsplan.alerts.events import AlertNotice
from opsplan.incidents.intake import HEALTH, AlertIntake
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.metrics import incident_samples
from opsplan.incidents.overdue import OverdueCount
from opsplan.metrics import Cycle

log = logging.getLogger(__name__)


class IncidentCycle:
    def __init__(self, incidents: Incidents, intake: AlertIntake | None = None,
                 firing: Callable[[], list[AlertNotice]] | None = None, overdue: OverdueCount | None = None):
        self.incidents = incidents
        # The overdue counts for the next cycle's `incidents` collector (IncidentResponseOverdue).
        self.overdue = overdue or OverdueCount()
        self.intake = intake
        # The alerts firing now (the engine's). On the first cycle (after the alert rules' first pass
        # has loaded their state) and after a notice could not be written, the incidents catch up
        # with them: an alert that fired while no incident stage listened still opens its incident.
        self.firing = firing
        self._started = False

    def __call__(self, cycle: Cycle) -> None:
        if self.intake is not None and self.firing is not None and (not self._started or self.intake.behind):
            self.intake.catch_up(self.firing())
        self._started = True
        health = self.incidents.db.health
        try:
            breaches, counts = self.incidents.evaluate(cycle.timestamp)
        except Exception as exc:  # noqa: BLE001 - a full disk: reported by /healthz, tried again next cycle
            health.failed(HEALTH, exc)
            return
        for breach in breaches:
            log.warning("incident %d (%s): the %s deadline passed unmet", breach.incident_id, breach.severity,
                        breach.deadline)
        self.overdue.update(counts[1], cycle.timestamp)
        cycle.samples.extend(incident_samples(counts))
