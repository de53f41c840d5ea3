"""What follows a finished check run, whoever started it (serve's clock, the console's button, the
command line): its summary to the channels (summary.py) and its failed items' incidents
(failed_items.py). Each is done on its own: a summary that cannot be queued still lets the
incidents open, and neither undoes the stored run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from opsplan.checks import runs
from opsplan.checks.failed_items import IncidentOutcome, record
from opsplan.checks.summary import queue_summary
from opsplan.incidents.lifecycle import Incidents
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


@dataclass
class FollowUp:
    channels: list[str] = field(default_factory=list)  # the summary was queued for these
    incidents: IncidentOutcome = field(default_factory=IncidentOutcome)


def follow_up(plan: Plan, db: StateDB, run_id: int, *, incidents: Incidents | None, now: float) -> FollowUp:
    """Queue the run's summary and open or join its failed items' incidents (`incidents` None: the
    incidents stage is off, nothing opens)."""
    run = runs.get_run(db, run_id)
    done = FollowUp()
    try:
        with db.session() as session:
            done.channels = queue_summary(session, plan, run, now=now)
    except Exception:  # noqa: BLE001 - the run is stored; its summary is logged as lost, the rest goes on
        log.exception("the summary of check run %d could not be queued", run_id)
    if incidents is not None:
        try:
            done.incidents = record(incidents, run, now=now)
        except Exception:  # noqa: BLE001 - as above
            log.exception("the incidents of check run %d could not be recorded", run_id)
    return done
