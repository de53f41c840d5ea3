"""Escalation and paging, advanced once per `serve` cycle (docs/incidents.md "On-call and paging").

Every open incident has one `incident_paging` row saying which step pages next and when. A page
is outbox rows (one per channel of the person) written in the same transaction that advances the
row: a serve restarted at any moment neither forgets a page nor writes it twice (the outbox's
unique (notice_key, channel) is the second guard). A page outside business hours for a severity
that waits for them is written with a not-before time (the outbox's `next_try_at`): queued, not
lost. An acknowledgement stops the steps and withdraws pages still waiting in the outbox.

A cycle with nothing due costs two indexed queries (new incidents by id, rows due by time).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from opsplan import format as fmt
from opsplan.errors import said
from opsplan.i18n import t
from opsplan.incidents.business_hours import BusinessCalendar
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.records import OPEN, SYSTEM, event, row_or_fail, title_of
from opsplan.incidents.tables import IncidentAlertRow, IncidentRow, TimelineRow
from opsplan.notify import outbox
from opsplan.notify.outbox import PENDING, WITHDRAWN, OutboxRow
from opsplan.notify.render import console_url
from opsplan.oncall.rotation import Rotation
from opsplan.oncall.tables import ACKED, DONE, PAGING, MaintenanceRow, PagingRow
from opsplan.plan.models import PRIMARY, SECONDARY, EscalationPolicy, Plan
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


PAGE_KIND = "page"
_SEVERITY_KEY = {"critical": "incident.severity.critical", "major": "incident.severity.major",
                 "minor": "incident.severity.minor"}


def fingerprint(incident_id: int) -> str:
    return f"incident:{incident_id}"


@dataclass
class PagingRound:
    paged: int = 0
    queued: int = 0
    held: int = 0
    stopped: int = 0
    handoffs: int = 0
    targets: list[str] = field(default_factory=list)


# Every so often (and on the first cycle) the paging rows are reconciled with every incident; in
# between, only with the incidents whose timeline grew (a cheap primary-key range read). The full
# pass also catches what a range read could miss on a server whose ids commit out of order.
RECONCILE_EVERY = 300.0
HAND_OFF_EVERY = 60.0  # overrides are added by command: looked at this often
# Timeline kinds that change what paging should do: a new or reopened incident, a person's answer.
_WATCHED = ("opened", "reopened", "acknowledged", "stage", "resolved", "closed", "cancelled", "merged", "snoozed")


class Paging:
    def __init__(self, plan: Plan, db: StateDB, calendar: BusinessCalendar, *,
                 wake: Callable[[], None] | None = None):
        self.plan = plan
        self.db = db
        self.calendar = calendar
        self.rotation = Rotation(plan)
        self.oncall = plan.oncall
        self.zone = ZoneInfo(plan.timezone)
        self._wake = wake  # the notifier's: a page due now goes out without waiting for its idle wait
        self._seen = 0  # the highest timeline id looked at
        self._reconciled: float | None = None
        self._on_call: str | None = None  # the shift (and its primary) last announced
        self._handed_off_at: float | None = None
        # The earliest next_at of any row, as last read: a cycle before it reads no paging row. Rows
        # change only here or after a timeline entry (a snooze), which resets it.
        self._next_due = -math.inf

    # --- the cycle -------------------------------------------------------------------------------

    def evaluate(self, now: float) -> PagingRound:
        done = PagingRound()
        with self.db.session() as session:
            if self._reconciled is None or not 0 <= now - self._reconciled < RECONCILE_EVERY:
                self._reconcile(session, now, done)
                self._reconciled = now
            else:
                self._follow_timeline(session, now, done)
            if now >= self._next_due:
                self._advance(session, now, done)
                session.flush()
                soonest = session.scalar(select(func.min(PagingRow.next_at)))
                self._next_due = math.inf if soonest is None else soonest
            if self._handed_off_at is None or not 0 <= now - self._handed_off_at < HAND_OFF_EVERY:
                self._hand_off(session, now, done)
                self._handed_off_at = now
        if (done.paged or done.handoffs) and self._wake is not None:
            self._wake()
        return done

    def _reconcile(self, session: Session, now: float, done: PagingRound) -> None:
        """Every incident whose paging row disagrees with it: open without a row, acknowledged or
        closed while paging, reopened while its row is done."""
        self._seen = int(session.scalar(select(func.max(TimelineRow.id))) or 0)
        missing = select(IncidentRow.id).outerjoin(PagingRow, PagingRow.incident_id == IncidentRow.id).where(
            IncidentRow.status.in_(OPEN), PagingRow.incident_id.is_(None))
        answered = select(PagingRow.incident_id).join(IncidentRow, IncidentRow.id == PagingRow.incident_id).where(
            PagingRow.state == PAGING, IncidentRow.status != "triggered")
        reopened = select(PagingRow.incident_id).join(IncidentRow, IncidentRow.id == PagingRow.incident_id).where(
            PagingRow.state != PAGING, IncidentRow.status == "triggered")
        ids = {*session.scalars(missing), *session.scalars(answered), *session.scalars(reopened)}
        self._sync(session, ids, now, done)
        self._next_due = -math.inf

    def _follow_timeline(self, session: Session, now: float, done: PagingRound) -> None:
        entries = session.execute(select(TimelineRow.id, TimelineRow.incident_id, TimelineRow.kind)
                                  .where(TimelineRow.id > self._seen).order_by(TimelineRow.id)).all()
        if not entries:
            return
        self._seen = entries[-1].id
        self._sync(session, {e.incident_id for e in entries if e.kind in _WATCHED}, now, done)

    def _sync(self, session: Session, ids: set[int], now: float, done: PagingRound) -> None:
        """Bring the paging rows of `ids` in line with their incidents."""
        if not ids:
            return
        self._next_due = -math.inf
        incidents = session.execute(select(IncidentRow).where(IncidentRow.id.in_(ids))
                                    .order_by(IncidentRow.id)).scalars().all()
        rows = {r.incident_id: r for r in session.scalars(select(PagingRow).where(PagingRow.incident_id.in_(ids)))}
        for incident in incidents:
            row = rows.get(incident.id)
            policy = self.oncall.escalation.get(incident.severity)  # type: ignore[call-overload]
            if row is None:
                row = PagingRow(incident_id=incident.id, state=DONE, step=0, round=0, pages=0, next_at=None)
                session.add(row)
                if policy is None or not self.oncall.people or incident.status not in OPEN:
                    continue
                if incident.status == "triggered":
                    # Due at once. An alert of this very cycle opened it a moment after the cycle's
                    # timestamp (the engine reads the clock after collection): not a cycle later.
                    row.state, row.next_at = PAGING, min(incident.opened_at, now)
                else:
                    row.state, row.next_at = ACKED, self._repage_at(incident.severity, incident.ack_at or now)
            elif row.state == PAGING and incident.status != "triggered":
                self._stop(session, row, incident, now, done)
            elif row.state != PAGING and incident.status == "triggered" and policy is not None and self.oncall.people:
                # Reopened: its escalation starts again (its page keys carry the reopening count).
                row.state, row.step, row.round, row.next_at = PAGING, 0, 0, now
            elif row.state == ACKED and incident.status not in OPEN:
                row.state, row.next_at = DONE, None
        session.flush()

    def _stop(self, session: Session, row: PagingRow, incident: IncidentRow, now: float, done: PagingRound) -> None:
        withdrawn = self._withdraw(session, row.incident_id)
        if incident.status in OPEN:
            row.state, row.next_at = ACKED, self._repage_at(incident.severity, incident.ack_at or now)
        else:
            row.state, row.next_at = DONE, None
        event(session, row.incident_id, "paging_stopped", SYSTEM, now, by=incident.ack_by, status=incident.status,
              withdrawn=withdrawn)
        done.stopped += 1

    def _withdraw(self, session: Session, incident_id: int) -> int:
        result = session.execute(update(OutboxRow).where(
            OutboxRow.fingerprint == fingerprint(incident_id), OutboxRow.kind == PAGE_KIND,
            OutboxRow.status == PENDING).values(status=WITHDRAWN, last_error="acknowledged"))
        return int(getattr(result, "rowcount", 0) or 0)

    def _advance(self, session: Session, now: float, done: PagingRound) -> None:
        due = session.execute(select(PagingRow, IncidentRow)
                              .join(IncidentRow, IncidentRow.id == PagingRow.incident_id)
                              .where(PagingRow.next_at <= now)  # by its index: a done row has none
                              # the earliest due is paged first, on every engine (no ORDER BY: each its own)
                              .order_by(PagingRow.next_at, PagingRow.incident_id)).all()
        windows = self._windows(session, now) if due else []
        for row, incident in due:
            if incident.status not in OPEN:
                row.state, row.next_at = DONE, None
                continue
            if row.state == PAGING and incident.status != "triggered":  # answered since the last look
                self._stop(session, row, incident, now, done)
                continue
            window = self._maintenance(session, incident, windows)
            if window is not None:
                row.next_at = window[1]
                event(session, incident.id, "paging_held", SYSTEM, now, until=window[1], window=window[0])
                done.held += 1
                continue
            if row.state == PAGING:
                self._step(session, row, incident, now, done)
            else:
                self._repage(session, row, incident, now, done)

    # --- steps -----------------------------------------------------------------------------------

    def _step(self, session: Session, row: PagingRow, incident: IncidentRow, now: float, done: PagingRound) -> None:
        policy = self.oncall.escalation[incident.severity]  # type: ignore[index]
        step = policy.steps[min(row.step, len(policy.steps) - 1)]
        at = self._send_time(policy, now)
        if at > now:
            # Outside business hours: the step waits in the state DB for the next business hour, and
            # then pages whoever is on call at that moment (a hand-off may come in between).
            row.next_at = at
            event(session, incident.id, "page_queued", SYSTEM, now, to=step.to, not_before=at,
                  step=row.step + 1, round=row.round + 1)
            done.queued += 1
            return
        person = self._who(session, step.to, now)
        key = f"oncall:incident:{incident.id}:g{incident.reopened}:r{row.round}:s{row.step}"
        self._page(session, incident, person, key, now, done, kind="paged",
                   extra={"step": row.step + 1, "round": row.round + 1, "to": step.to})
        row.pages += 1
        row.step += 1
        if row.step >= len(policy.steps):
            row.step, row.round = 0, row.round + 1
        if row.round >= policy.repeat:
            row.next_at = None  # every step ran `repeat` times: the ack deadline's breach says the rest
            return
        delay = policy.steps[row.step].after if row.step else policy.repeat_after
        row.next_at = self._later(policy, now, delay)

    def _repage(self, session: Session, row: PagingRow, incident: IncidentRow, now: float,
                done: PagingRound) -> None:
        if row.snoozed_until is not None and row.snoozed_until > now:
            row.next_at = row.snoozed_until
            return
        if self.oncall.repage_after <= 0:
            row.next_at = None
            return
        # Activity is what a person wrote on the timeline (opsplan's own entries are not).
        last = session.scalar(select(func.max(TimelineRow.at)).where(
            TimelineRow.incident_id == incident.id, TimelineRow.actor != SYSTEM)) or incident.updated_at
        due = self._repage_at(incident.severity, last)
        if due is None or now < due:
            row.next_at = due
            return
        policy = self.oncall.escalation.get(incident.severity)  # type: ignore[call-overload]
        if policy is not None and self._send_time(policy, now) > now:
            row.next_at = self._send_time(policy, now)
            return
        # its assignee owns it, else whoever acknowledged it (when they are on-call people)
        owner = next((name for name in (incident.assignee, incident.ack_by) if name and self.oncall.person(name)),
                     None)
        person = owner or self._who(session, PRIMARY, now)
        self._page(session, incident, person, f"oncall:incident:{incident.id}:repage:{int(now)}", now, done,
                   kind="repaged", extra={"idle_since": last})
        row.pages += 1
        row.next_at = self._repage_at(incident.severity, now)

    def _repage_at(self, severity: str, since: float) -> float | None:
        """When an acknowledged incident idle since `since` pages again: business time for a severity
        that pages in business hours (a Friday-night acknowledgement does not page at Monday 09:05)."""
        if self.oncall.repage_after <= 0:
            return None
        policy = self.oncall.escalation.get(severity)  # type: ignore[call-overload]
        if policy is None:
            return since + self.oncall.repage_after
        return self._later(policy, since, self.oncall.repage_after)

    def _who(self, session: Session, to: str, now: float) -> str | None:
        if to not in (PRIMARY, SECONDARY):
            return to
        shift = self.rotation.at(now, session)
        return shift.primary if to == PRIMARY else (shift.secondary or shift.primary)

    def _send_time(self, policy: EscalationPolicy, now: float) -> float:
        if policy.hours == "any_hour" or self.calendar.is_open(now):
            return now
        return self.calendar.add(now, 0)

    def _later(self, policy: EscalationPolicy, at: float, delay: float) -> float:
        return at + delay if policy.hours == "any_hour" else self.calendar.add(at, delay)

    def _page(self, session: Session, incident: IncidentRow, person: str | None, key: str, now: float,
              done: PagingRound, *, kind: str, extra: dict[str, object]) -> None:
        channels = self.channels_of(person) if person else []
        if not channels:
            event(session, incident.id, "nobody_to_page", SYSTEM, now, person=person, **extra)
            return
        title, body = self.message(incident, person or "", kind, now)
        notify_type = "failure" if incident.severity == "critical" else "warning"
        rows = [OutboxRow(notice_key=key, channel=name, kind=PAGE_KIND, fingerprint=fingerprint(incident.id),
                          alert=f"incident {incident.id}", severity=incident.severity, title=title, body=body,
                          notify_type=notify_type, created_at=now, first_due_at=now, next_try_at=now, attempts=0,
                          status=PENDING) for name in channels]
        if not outbox.add_new(session, rows):
            return  # written before (a cycle re-run after a restart): not twice
        event(session, incident.id, kind, SYSTEM, now, person=person, channels=channels, **extra)
        done.paged += 1
        done.targets.append(person or "")
        log.info("incident %d: %s %s via %s", incident.id, kind, person, ", ".join(channels))

    def channels_of(self, name: str) -> list[str]:
        person = self.oncall.person(name)
        if person is None:
            return []
        own = [f"person:{person.name}"] if person.url_env or person.url_file else []
        return [*person.channels, *own]

    def message(self, incident: IncidentRow, person: str, kind: str, now: float) -> tuple[str, str]:
        lang = self.plan.language
        title_text = title_of(incident).get(lang, "")
        known = incident.severity in _SEVERITY_KEY
        severity = t(_SEVERITY_KEY[incident.severity], lang) if known else incident.severity
        key = "oncall.page.title_again" if kind == "repaged" else "oncall.page.title"
        title = t(key, lang, id=incident.id, severity=severity, title=title_text)
        body = "\n".join([
            t("oncall.page.body_person", lang, name=person),
            t("oncall.page.body_opened", lang, time=fmt.local_time(incident.opened_at, self.plan.timezone,
                                                                   zone_name=True)),
            t("oncall.page.body_ack", lang, id=incident.id),
            t("notify.console", lang, url=console_url(self.plan)),
        ])
        return title, body

    # --- hand-off -------------------------------------------------------------------------------

    def _hand_off(self, session: Session, now: float, done: PagingRound) -> None:
        """Tell the incoming primary their shift has started (once: the outbox key is the shift's)."""
        if not self.oncall.rotation.people:
            return
        shift = self.rotation.at(now, session)
        key = f"oncall:handoff:{int(shift.start)}:{shift.primary}"
        if key == self._on_call or shift.primary is None:
            return
        self._on_call = key
        lang, tz = self.plan.language, self.plan.timezone
        title = t("oncall.handoff.title", lang, name=shift.primary)
        body = t("oncall.handoff.body", lang, start=fmt.local_time(shift.start, tz, zone_name=True),
                 end=fmt.local_time(shift.end, tz, zone_name=True), names=shift.secondary or "-")
        rows = [OutboxRow(notice_key=key, channel=name, kind="handoff", fingerprint="oncall", alert="on-call hand-off",
                          severity="info", title=title, body=body, notify_type="info", created_at=now,
                          first_due_at=now, next_try_at=now, attempts=0, status=PENDING)
                for name in self.channels_of(shift.primary)]
        if outbox.add_new(session, rows):
            done.handoffs += 1
            log.info("on-call hand-off: %s is the primary until %s", shift.primary, fmt.local_time(shift.end, tz))

    # --- maintenance windows ---------------------------------------------------------------------

    def _windows(self, session: Session, now: float) -> list[tuple[str, list[str], float]]:
        """The maintenance windows in force: (name, subjects, end); read once per cycle with steps due."""
        found = [(f"plan:{i + 1}", w.subjects, self._ts(w.end)) for i, w in enumerate(self.oncall.maintenance)
                 if self._ts(w.start) <= now < self._ts(w.end)]
        for stored in session.scalars(select(MaintenanceRow).where(MaintenanceRow.end > now,
                                                                   MaintenanceRow.start <= now)):
            found.append((f"db:{stored.id}", json.loads(stored.subjects), stored.end))
        return found

    def _maintenance(self, session: Session, incident: IncidentRow,
                     windows: list[tuple[str, list[str], float]]) -> tuple[str, float] | None:
        """(window, its end) of a window in force that names one of the incident's subjects."""
        if not windows:
            return None
        subjects = subjects_of(session, incident.id)
        for name, names, end in windows:
            if "*" in names or subjects.intersection(names):
                return name, end
        return None

    def _ts(self, when: datetime) -> float:
        return (when if when.tzinfo else when.replace(tzinfo=self.zone)).timestamp()


def subjects_of(session: Session, incident_id: int) -> set[str]:
    """What a maintenance window may name to cover an incident: its alerts' names and label values."""
    found: set[str] = set()
    for alert, labels in session.execute(select(IncidentAlertRow.alert, IncidentAlertRow.labels)
                                         .where(IncidentAlertRow.incident_id == incident_id)):
        found.add(alert)
        with contextlib.suppress(ValueError, AttributeError):  # a row written by hand: its name still counts
            found.update(str(v) for v in json.loads(labels).values())
    return found


def snooze(db: StateDB, incident_id: int, until: float, *, by: str, now: float) -> None:
    """No re-page of an acknowledged incident before `until` (its timeline says who asked)."""
    with db.session() as session:
        incident = row_or_fail(session, incident_id)
        if incident.status not in ("acknowledged", "stage"):
            raise said(IncidentError, "oncall.error.snooze_not_acked", id=incident_id)
        row = session.get(PagingRow, incident_id)
        if row is None:
            row = PagingRow(incident_id=incident_id, state=ACKED, step=0, round=0, pages=0, next_at=until)
            session.add(row)
        row.snoozed_until = until
        if row.state == ACKED:
            row.next_at = max(row.next_at or until, until)
        event(session, incident_id, "snoozed", by, now, until=until)
