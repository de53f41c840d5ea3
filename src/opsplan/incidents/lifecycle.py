"""The incident's lifecycle: open, acknowledge, the plan's stages, resolve, close, cancel, merge;
the response deadlines stored on it and their breaches. Every change is one transaction that
updates the incident only from the states it may leave (a compare-and-set), and appends to its
timeline; so `serve` and a command changing the same incident at once cannot undo each other."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from opsplan.errors import said
from opsplan.incidents import records
from opsplan.incidents.business_hours import BusinessCalendar, HolidaySource, deadlines
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.records import BREACH_KIND, OPEN, SYSTEM, event, row_or_fail
from opsplan.incidents.tables import IncidentRow, TimelineRow
from opsplan.plan.models import Plan, Text
from opsplan.store.state import StateDB

# Why a step is refused, by the status the incident is in (literal catalogue keys).
_NOT_OPEN = {"resolved": "incident.error.is_resolved", "closed": "incident.error.is_closed",
             "merged": "incident.error.is_merged", "cancelled": "incident.error.is_cancelled"}


# (open per severity, open and overdue per severity, breaches ever per (severity, deadline))
Counts = tuple[dict[str, int], dict[str, int], dict[tuple[str, str], int]]


@dataclass(frozen=True)
class Breach:
    incident_id: int
    severity: str
    deadline: str  # "ack" or "respond"
    due: float


class Incidents:
    """The incidents of one plan in one state database."""

    def __init__(self, plan: Plan, db: StateDB, *, holiday_source: HolidaySource | None = None):
        self.plan = plan
        self.db = db
        self.calendar = BusinessCalendar(plan.incidents.business_hours, plan.timezone, holiday_source=holiday_source)

    # --- opening ---------------------------------------------------------------------------------

    def check_severity(self, severity: str) -> None:
        known = self.plan.incidents.severities
        if severity not in known:
            raise said(IncidentError, "incident.error.unknown_severity", severity=severity, known=", ".join(known))

    def deadlines_from(self, severity: str, start: float) -> tuple[float, float, float]:
        """(counting from, ack_due, respond_due): outside business hours a major or minor
        incident's clock starts when business opens."""
        level = self.plan.incidents.severities[severity]  # type: ignore[index]
        clock_from = start if level.around_the_clock else self.calendar.add(start, 0)
        ack_due, respond_due = deadlines(level, self.calendar, start)
        return clock_from, ack_due, respond_due

    def open(self, severity: str, title: Text, *, by: str, now: float, description: str = "",
             source: str = "manual", dedup_key: str | None = None, session: Session | None = None) -> int:
        self.check_severity(severity)
        # a title is one line wherever it is shown (a list row, a Markdown heading, a page's title)
        title = Text(ko=" ".join(title.ko.split()), en=" ".join(title.en.split()))
        if not title.ko or not title.en:
            raise said(IncidentError, "incident.error.no_title")
        clock_from, ack_due, respond_due = self.deadlines_from(severity, now)
        row = IncidentRow(title=json.dumps({"ko": title.ko, "en": title.en}, ensure_ascii=False),
                          description=description, severity=severity, status="triggered", stage=None,
                          source=source, dedup_key=dedup_key, opened_at=now, opened_by=by, clock_from=clock_from,
                          ack_due=ack_due, respond_due=respond_due, reopened=0, updated_at=now)
        if session is not None:
            return self._add(session, row, by, now)
        with self.db.session() as own:
            return self._add(own, row, by, now)

    def _add(self, session: Session, row: IncidentRow, by: str, now: float) -> int:
        session.add(row)
        session.flush()
        event(session, row.id, "opened", by, now, severity=row.severity, source=row.source,
              ack_due=row.ack_due, respond_due=row.respond_due, deadlines_from=row.clock_from)
        return row.id

    # --- a person's steps ------------------------------------------------------------------------

    def acknowledge(self, incident_id: int, *, by: str, now: float) -> None:
        with self.db.session() as session:
            self._move(session, incident_id, ("triggered",), now, status="acknowledged", ack_at=now, ack_by=by)
            event(session, incident_id, "acknowledged", by, now)
            self._late(session, incident_id, now)

    def enter_stage(self, incident_id: int, stage: int, *, by: str, now: float) -> None:
        stages = self.plan.incidents.stages
        if not 1 <= stage <= len(stages):
            raise said(IncidentError, "incident.error.unknown_stage", stage=stage, count=len(stages))
        with self.db.session() as session:
            row = row_or_fail(session, incident_id)
            if row.status == "stage" and row.stage == stage:
                raise said(IncidentError, "incident.error.same_stage", id=incident_id, stage=stage)
            # checklists (issue 13 item 4): the plan's required tasks gate the next stage
            from opsplan.incidents.checklist import refuse_unfinished
            refuse_unfinished(self.plan, session, incident_id, row.stage if row.status == "stage" else None, stage)
            values: dict[str, Any] = {"status": "stage", "stage": stage}
            if row.ack_at is None:  # starting the response acknowledges it too
                values.update(ack_at=now, ack_by=by)
            if row.responded_at is None:
                values["responded_at"] = now
            self._move(session, incident_id, OPEN, now, **values)
            event(session, incident_id, "stage", by, now, stage=stage, previous=row.stage)
            self._late(session, incident_id, now)

    def note(self, incident_id: int, text: str, *, by: str, now: float) -> None:
        if not text.strip():
            raise said(IncidentError, "incident.error.empty_note")
        with self.db.session() as session:
            row_or_fail(session, incident_id)
            event(session, incident_id, "note", by, now, text=text)

    def assign(self, incident_id: int, person: str, *, by: str, now: float) -> None:
        """Give an open incident an owner: the one re-paged when it goes quiet (before whoever acknowledged)."""
        person = person.strip()
        if not person:
            raise said(IncidentError, "incident.error.no_person")
        known = [p.name for p in self.plan.oncall.people]
        if known and person not in known:  # with on-call people in the plan, only they can be paged
            raise said(IncidentError, "incident.error.unknown_person", person=person, known=", ".join(known))
        with self.db.session() as session:
            previous = row_or_fail(session, incident_id).assignee
            self._move(session, incident_id, OPEN, now, assignee=person)
            event(session, incident_id, "assigned", by, now, person=person, previous=previous)

    def change_severity(self, incident_id: int, severity: str, *, by: str, now: float, reason: str = "") -> None:
        """A person re-grades an open incident. The new severity's clock starts now; raising it never
        moves an unmet deadline later, lowering it gives the unmet ones the new severity's time."""
        self.check_severity(severity)
        with self.db.session() as session:
            row = row_or_fail(session, incident_id)
            previous = row.severity  # the update below refreshes `row`
            if previous == severity:
                raise said(IncidentError, "incident.error.same_severity", id=incident_id, severity=severity)
            _, ack_due, respond_due = self.deadlines_from(severity, now)
            raising = self._rank(severity) < self._rank(row.severity)
            values: dict[str, Any] = {"severity": severity}
            if row.ack_at is None:
                values["ack_due"] = min(row.ack_due, ack_due) if raising else ack_due
            if row.responded_at is None:
                values["respond_due"] = min(row.respond_due, respond_due) if raising else respond_due
            self._move(session, incident_id, OPEN, now, **values)
            event(session, incident_id, "severity", by, now, previous=previous, severity=severity, reason=reason)

    @staticmethod
    def _rank(severity: str) -> int:
        return ("critical", "major", "minor").index(severity)  # most severe first (seed §5.1)

    def resolve(self, incident_id: int, *, by: str, now: float, note: str = "") -> None:
        with self.db.session() as session:
            self._move(session, incident_id, OPEN, now, status="resolved", resolved_at=now, resolved_by=by)
            event(session, incident_id, "resolved", by, now, note=note)
            self._late(session, incident_id, now)

    def close(self, incident_id: int, *, by: str, now: float) -> None:
        with self.db.session() as session:
            row = row_or_fail(session, incident_id)
            if row.status in OPEN:  # out of order: a person resolves it first
                raise said(IncidentError, "incident.error.close_open", id=incident_id)
            # postmortems (issue 13 item 6): a critical or major incident closes with a final one
            from opsplan.incidents.postmortem import refuse_close_without_final
            refuse_close_without_final(self.plan, session, row)
            self._move(session, incident_id, ("resolved",), now, status="closed", closed_at=now, closed_by=by)
            event(session, incident_id, "closed", by, now)

    def cancel(self, incident_id: int, *, by: str, now: float, reason: str) -> None:
        """A false positive: out of the open list without counting as resolved."""
        if not reason.strip():
            raise said(IncidentError, "incident.error.empty_reason")
        with self.db.session() as session:
            self._move(session, incident_id, (*OPEN, "resolved"), now, status="cancelled", closed_at=now,
                       closed_by=by)
            event(session, incident_id, "cancelled", by, now, reason=reason)

    def merge(self, incident_id: int, into: int, *, by: str, now: float) -> None:
        """`incident_id` was the same trouble as `into`: its alerts move there, it ends as merged."""
        from opsplan.incidents.tables import IncidentAlertRow

        if incident_id == into:
            raise said(IncidentError, "incident.error.merge_self", id=incident_id)
        with self.db.session() as session:
            target = row_or_fail(session, into)
            if target.status not in (*OPEN, "resolved"):
                raise said(IncidentError, _NOT_OPEN[target.status], id=into)
            self._move(session, incident_id, (*OPEN, "resolved"), now, status="merged", merged_into=into,
                       closed_at=now, closed_by=by)
            session.execute(update(IncidentAlertRow).where(IncidentAlertRow.incident_id == incident_id)
                            .values(incident_id=into))
            event(session, incident_id, "merged", by, now, into=into)
            event(session, into, "merged_from", by, now, incident=incident_id)

    # --- deadlines -------------------------------------------------------------------------------

    def check_deadlines(self, now: float) -> list[Breach]:
        """Record every deadline of an open incident that has passed unmet (each once). Only the
        incidents with such a deadline are read: a cycle with nothing overdue costs one indexed query."""
        with self.db.session() as session:
            return self._check_deadlines(session, now)

    def evaluate(self, now: float) -> tuple[list[Breach], Counts]:
        """One cycle's work in one transaction: the deadlines passed unmet, then the counts."""
        with self.db.session() as session:
            found = self._check_deadlines(session, now)
            return found, self._counts(session, now)

    def _check_deadlines(self, session: Session, now: float) -> list[Breach]:
        due = or_(and_(IncidentRow.ack_at.is_(None), IncidentRow.ack_breached_at.is_(None), IncidentRow.ack_due < now),
                  and_(IncidentRow.responded_at.is_(None), IncidentRow.respond_breached_at.is_(None),
                       IncidentRow.respond_due < now))
        found: list[Breach] = []
        rows = session.execute(select(IncidentRow).where(IncidentRow.status.in_(OPEN), due)).scalars().all()
        for row in rows:
            found += self._breaches(session, row, now)
        return found

    def _late(self, session: Session, incident_id: int, now: float) -> None:
        # A step taken after its deadline (between two cycles) still records the breach.
        session.flush()
        row = session.get(IncidentRow, incident_id)
        if row is not None:
            session.refresh(row)
            self._breaches(session, row, now, met_late=True)

    def _breaches(self, session: Session, row: IncidentRow, now: float, *, met_late: bool = False) -> list[Breach]:
        found = []
        # Resolving an incident answers both deadlines if nothing had before.
        acked = row.ack_at if row.ack_at is not None else row.resolved_at
        responded = row.responded_at if row.responded_at is not None else row.resolved_at
        checks = (("ack", row.ack_due, acked, IncidentRow.ack_breached_at, row.ack_breached_at),
                  ("respond", row.respond_due, responded, IncidentRow.respond_breached_at, row.respond_breached_at))
        for deadline, due, met_at, column, breached in checks:
            if breached is not None:
                continue
            late = (met_at is not None and met_at > due) if met_late else (met_at is None and now > due)
            if not late:
                continue
            # Only the writer that sets the column appends the entry: never twice for one breach.
            done = session.execute(update(IncidentRow).where(IncidentRow.id == row.id, column.is_(None))
                                   .values({column: due}))
            if getattr(done, "rowcount", 0):
                event(session, row.id, BREACH_KIND[deadline], SYSTEM, now, due=due)
                found.append(Breach(row.id, row.severity, deadline, due))
        return found

    # --- reading ---------------------------------------------------------------------------------

    def get(self, incident_id: int) -> dict[str, Any]:
        with self.db.session() as session:
            row = row_or_fail(session, incident_id)
            shown = records.as_dict(row, self.plan)
            shown["timeline"] = records.timeline(session, incident_id)
            shown["alerts"] = records.linked_alerts(session, incident_id)
        return shown

    def list(self, *, include_done: bool = False, limit: int = 200,
             severity: str | None = None) -> list[dict[str, Any]]:
        query = select(IncidentRow).order_by(IncidentRow.id.desc()).limit(limit)
        if not include_done:
            query = query.where(IncidentRow.status.in_(OPEN))
        if severity is not None:  # filtered before the limit: the newest `limit` of that severity
            query = query.where(IncidentRow.severity == severity)
        with self.db.session() as session:
            return [records.as_dict(r, self.plan) for r in session.execute(query).scalars()]

    def counts(self, now: float) -> Counts:
        """(open per severity, open and overdue per severity, breaches ever per severity and deadline),
        counted by the database."""
        with self.db.session() as session:
            return self._counts(session, now)

    def _counts(self, session: Session, now: float) -> Counts:
        names: list[str] = list(self.plan.incidents.severities)
        opened = dict.fromkeys(names, 0)
        overdue = dict.fromkeys(names, 0)
        breaches: dict[tuple[str, str], int] = {(s, d): 0 for s in names for d in BREACH_KIND}
        late = or_(and_(IncidentRow.ack_at.is_(None), IncidentRow.ack_due < now),
                   and_(IncidentRow.responded_at.is_(None), IncidentRow.respond_due < now))
        rows = session.execute(select(IncidentRow.severity, func.count(), func.sum(case((late, 1), else_=0)))
                               .where(IncidentRow.status.in_(OPEN)).group_by(IncidentRow.severity)).all()
        for severity, n, n_late in rows:
            opened[severity], overdue[severity] = n, int(n_late or 0)
        # Counted from the timeline: a reopened incident's fresh deadlines keep its old breaches.
        kinds = {kind: deadline for deadline, kind in BREACH_KIND.items()}
        entries = session.execute(select(IncidentRow.severity, TimelineRow.kind, func.count())
                                  .join(IncidentRow, IncidentRow.id == TimelineRow.incident_id)
                                  .where(TimelineRow.kind.in_(kinds))
                                  .group_by(IncidentRow.severity, TimelineRow.kind)).all()
        for severity, kind, n in entries:
            breaches[(severity, kinds[kind])] = n
        return opened, overdue, breaches

    # --- shared with the alert intake ------------------------------------------------------------

    def _move(self, session: Session, incident_id: int, allowed: Sequence[str], now: float, **values: Any) -> None:
        """Set `values` if the incident is in one of the `allowed` states, else the reason it is not."""
        done = session.execute(update(IncidentRow)
                               .where(IncidentRow.id == incident_id, IncidentRow.status.in_(allowed))
                               .values(updated_at=now, **values))
        if getattr(done, "rowcount", 0):
            return
        row = row_or_fail(session, incident_id)
        if row.status in _NOT_OPEN:
            raise said(IncidentError, _NOT_OPEN[row.status], id=incident_id)
        raise said(IncidentError, "incident.error.already_acked", id=incident_id)
