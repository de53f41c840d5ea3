"""Runbook runs on the incident timeline (issue 13 item 5): a restore or drill started while an
incident is open is linked to it, with who started it, and its outcome when it ends.

The runbook journal is read, not hooked: runs started by `serve`, from the console or by
`opsplan restore ...` on the command line (another process) are all seen. One indexed query a
cycle (runs with a larger id than the last one linked), plus one per run still going. Where it
stands (the last run id looked at, the linked runs not finished yet) is kept in `opsplan_meta`,
so a restarted serve neither links a run twice nor forgets to note its end."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from opsplan.incidents.records import OPEN, SYSTEM, event
from opsplan.incidents.tables import IncidentRow
from opsplan.metrics import Cycle
from opsplan.runbooks.journal import RUNNING, RunbookRun
from opsplan.store.state import META, StateDB

log = logging.getLogger(__name__)

KEY = "incidents_runbook_links"
STARTED, FINISHED = "runbook_started", "runbook_finished"


class RunbookLinks:
    """The incidents stage's per-cycle hook."""

    def __init__(self, db: StateDB):
        self.db = db

    def __call__(self, cycle: Cycle) -> None:
        try:
            with self.db.session() as session:
                link_runs(session, cycle.timestamp)
        except Exception as exc:  # noqa: BLE001 - a busy or full database: the next cycle catches up
            log.debug("runbook runs not linked to incidents this cycle: %s", exc)


def link_runs(session: Session, now: float) -> None:
    mark = _read_mark(session)
    if mark is None:  # first look: runs from before are history, not linked after the fact
        newest = session.scalar(select(func.max(RunbookRun.id))) or 0
        _write_mark(session, {"after": newest, "going": {}})
        return
    going: dict[str, list[int]] = mark["going"]
    for run in session.scalars(select(RunbookRun).where(RunbookRun.id > mark["after"]).order_by(RunbookRun.id)):
        mark["after"] = run.id
        linked = _incidents_open_at(session, run.started_at)
        for incident_id in linked:
            event(session, incident_id, STARTED, run.actor or SYSTEM, run.started_at, run=run.id, runbook=run.kind,
                  title=run.title, dry_run=bool(run.dry_run))
        if linked and run.finished_at is None:
            going[str(run.id)] = linked
        elif linked:
            _finished(session, run, linked)
    for run_id, linked in list(going.items()):
        still = session.get(RunbookRun, int(run_id))
        if still is None or still.finished_at is not None or still.status != RUNNING:
            if still is not None:
                _finished(session, still, linked)
            del going[run_id]
    _write_mark(session, mark)


def _finished(session: Session, run: RunbookRun, linked: list[int]) -> None:
    for incident_id in linked:
        event(session, incident_id, FINISHED, SYSTEM, run.finished_at or run.started_at, run=run.id, runbook=run.kind,
              status=run.status, failed_step=run.failed_step)


def _incidents_open_at(session: Session, at: float) -> list[int]:
    """Incidents open at `at`: opened by then, and not resolved (or ended) before it."""
    ended = func.coalesce(IncidentRow.resolved_at, IncidentRow.closed_at)
    rows = session.scalars(select(IncidentRow.id).where(
        IncidentRow.opened_at <= at,
        or_(IncidentRow.status.in_(OPEN), ended >= at)).order_by(IncidentRow.id))
    return list(rows)


def _read_mark(session: Session) -> dict[str, Any] | None:
    value = session.scalar(select(META.c.value).where(META.c.key == KEY))
    if value is None:
        return None
    try:
        mark = json.loads(value)
    except ValueError:
        return None
    return mark if isinstance(mark, dict) and "after" in mark and "going" in mark else None


def _write_mark(session: Session, mark: dict[str, Any]) -> None:
    value = json.dumps(mark, sort_keys=True)
    done = session.execute(META.update().where(META.c.key == KEY).values(value=value))
    if not getattr(done, "rowcount", 0):
        session.execute(META.insert().values(key=KEY, value=value))
