"""The on-call part of each `serve` cycle: escalation steps due now, and the page counter."""

from __future__ import annotations

import logging

from opsplan.metrics import Cycle, MetricSpec, sample
from opsplan.metrics.samples import counter
from opsplan.oncall.paging import Paging

log = logging.getLogger(__name__)

HEALTH = "incident paging"
METRICS: dict[str, MetricSpec] = {
    "opsplan_incident_pages_total": counter("Incident pages written to the outbox since serve started, "
                                            "sent at once or queued for business hours", "when"),
}


class PagingCycle:
    def __init__(self, paging: Paging):
        self.paging = paging
        self.counts = {"now": 0, "queued": 0}

    def __call__(self, cycle: Cycle) -> None:
        health = self.paging.db.health
        try:
            done = self.paging.evaluate(cycle.timestamp)
        except Exception as exc:  # noqa: BLE001 - a full disk: reported by /healthz, tried again next cycle
            health.failed(HEALTH, exc)
            log.warning("incident paging failed this cycle: %s", exc)
            return
        health.succeeded(HEALTH)
        self.counts["now"] += done.paged
        self.counts["queued"] += done.queued
        cycle.samples.extend(sample("opsplan_incident_pages_total", n, when=when) for when, n in self.counts.items())
