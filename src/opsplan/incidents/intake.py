"""Incidents from alert notices (a sink of the alert fan-out, `serve`'s alerting stage): a firing
alert that the plan maps to a severity opens an incident, or joins the open one of its subject, or
reopens its subject's incident resolved a moment ago; a resolving alert is noted on the timeline and
closes nothing: a person resolves the incident."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsplan.alerts.events import AlertNotice
from opsplan.incidents.evidence import KIND as EVIDENCE
from opsplan.incidents.evidence import EvidenceSources
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.mapping import dedup_key, incident_severity, more_severe
from opsplan.incidents.records import OPEN, SYSTEM, event
from opsplan.incidents.tables import IncidentAlertRow, IncidentRow
from opsplan.plan.models import Text
from opsplan.store.state import clipped

log = logging.getLogger(__name__)

HEALTH = "incidents"  # what /healthz names when an incident change cannot be written


class AlertIntake:
    """Takes a cycle's notices (and the webhook's) in one call; one at a time, so two notices of one
    subject arriving together (a cycle and Alertmanager's webhook) cannot open two incidents."""

    def __init__(self, incidents: Incidents, clock: Callable[[], float], evidence: EvidenceSources | None = None):
        self.incidents = incidents
        self.clock = clock
        self.evidence = evidence
        self._lock = threading.Lock()
        # A notice could not be written (a full disk): catch up from the alert engine when it can.
        self.behind = False

    def __call__(self, notice: AlertNotice) -> None:
        self.take([notice])

    def take(self, notices: Iterable[AlertNotice]) -> None:
        health = self.incidents.db.health
        with self._lock:
            for notice in notices:
                try:
                    if notice.kind == "firing":
                        self._fired(notice)
                    elif notice.kind == "resolved":
                        self._resolved(notice)
                    # "repeat" (still firing, unacknowledged) is the outbox's business, not the timeline's.
                except Exception as exc:  # noqa: BLE001 - one notice lost now is caught up later, not dropped
                    self.behind = True
                    health.failed(HEALTH, exc)
                else:
                    health.succeeded(HEALTH)

    def catch_up(self, firing: list[AlertNotice]) -> None:
        """Bring the incidents up to the alerts firing now (`firing`: the engine's): open or join for
        each, and note as resolved every linked alert that is no longer firing."""
        self.behind = False
        self.take(firing)
        now = self.clock()
        still = {n.fingerprint for n in firing}
        try:
            with self._lock, self.incidents.db.session() as session:
                open_links = select(IncidentAlertRow).where(IncidentAlertRow.resolved_at.is_(None))
                for link in session.execute(open_links).scalars():
                    if link.fingerprint not in still:
                        link.resolved_at = now
                        event(session, link.incident_id, "alert_resolved", SYSTEM, now, alert=link.alert,
                              fingerprint=link.fingerprint, caught_up=True)
        except Exception as exc:  # noqa: BLE001 - tried again on the next cycle
            self.behind = True
            self.incidents.db.health.failed(HEALTH, exc)

    def _fired(self, notice: AlertNotice) -> None:
        plan = self.incidents.plan
        severity = incident_severity(plan.incidents.from_alerts, notice.alert, notice.severity, notice.labels)
        if severity is None or severity not in plan.incidents.severities:
            return
        # The incident begins when its alert began firing (the cycle's time, the webhook's startsAt).
        now = notice.started_at or self.clock()
        key = dedup_key(notice.host, notice.subject)
        opened = False
        with self.incidents.db.session() as session:
            if self._already_linked(session, notice):
                return  # the same firing heard twice (a restart, the webhook and a cycle)
            row = self._open_of(session, key)
            if row is None:
                row = self._reopenable(session, key, now)
                if row is not None and not self._reopen(session, row, notice, now):
                    row = None  # closed a moment ago by a person: a new incident then
            if row is None:
                subject = Text(ko=notice.subject_ko or notice.subject or notice.host, en=notice.subject or notice.host)
                title = Text(ko=f"{notice.summary.ko} ({subject.ko})", en=f"{notice.summary.en} ({subject.en})")
                incident_id = self.incidents.open(severity, title, by=SYSTEM, now=now, source="alert",
                                                  dedup_key=key, description=notice.description.en,
                                                  session=session)
                opened = True
            else:
                incident_id = row.id
                if more_severe(severity, row.severity):
                    self._raise(session, row, severity, notice, now)
            # An external alert's name may be longer than the column (the servers refuse the row): it is
            # clipped where shown, and kept whole in the labels.
            session.add(IncidentAlertRow(incident_id=incident_id, fingerprint=notice.fingerprint,
                                         alert=clipped(notice.alert, IncidentAlertRow.__table__.c.alert),
                                         severity=notice.severity, started_at=notice.started_at,
                                         labels=json.dumps(notice.labels, ensure_ascii=False, sort_keys=True)))
            event(session, incident_id, "alert_fired", SYSTEM, now, alert=notice.alert, severity=notice.severity,
                  fingerprint=notice.fingerprint, subject=notice.subject, subject_ko=notice.subject_ko,
                  value=notice.value_text,
                  threshold=notice.threshold_text, started_at=notice.started_at)
        log.info("alert %s (%s) is on incident %d", notice.alert, notice.subject or notice.host, incident_id)
        if opened and self.evidence is not None:
            self._capture(incident_id, notice, now)

    def _capture(self, incident_id: int, notice: AlertNotice, now: float) -> None:
        """After the incident is written (it opens whatever evidence can be had): one `evidence` entry,
        at the opening's time. A capture that cannot be written is logged, not retried."""
        assert self.evidence is not None
        try:
            found = self.evidence.capture(notice, now)
            with self.incidents.db.session() as session:
                event(session, incident_id, EVIDENCE, SYSTEM, now, alert=notice.alert, captured_at=self.clock(),
                      **found)
        except Exception as exc:  # noqa: BLE001 - evidence is a help, never a reason to lose the cycle
            log.warning("incident %d: evidence not recorded: %s", incident_id, exc)

    def _resolved(self, notice: AlertNotice) -> None:
        now = notice.resolved_at or self.clock()
        with self.incidents.db.session() as session:
            links = session.execute(select(IncidentAlertRow).where(
                IncidentAlertRow.fingerprint == notice.fingerprint, IncidentAlertRow.resolved_at.is_(None))).scalars()
            for link in links:
                link.resolved_at = now
                event(session, link.incident_id, "alert_resolved", SYSTEM, now, alert=notice.alert,
                      fingerprint=notice.fingerprint, subject=notice.subject, resolved_at=link.resolved_at)

    @staticmethod
    def _already_linked(session: Session, notice: AlertNotice) -> bool:
        found = session.execute(select(IncidentAlertRow.id).where(
            IncidentAlertRow.fingerprint == notice.fingerprint,
            IncidentAlertRow.started_at == notice.started_at).limit(1)).first()
        return found is not None

    @staticmethod
    def _open_of(session: Session, key: str) -> IncidentRow | None:
        return session.execute(select(IncidentRow).where(IncidentRow.dedup_key == key, IncidentRow.status.in_(OPEN))
                               .order_by(IncidentRow.id.desc()).limit(1)).scalars().first()

    def _reopenable(self, session: Session, key: str, now: float) -> IncidentRow | None:
        since = now - self.incidents.plan.incidents.reopen_within
        return session.execute(select(IncidentRow).where(
            IncidentRow.dedup_key == key, IncidentRow.status == "resolved", IncidentRow.resolved_at >= since)
            .order_by(IncidentRow.resolved_at.desc()).limit(1)).scalars().first()

    def _reopen(self, session: Session, row: IncidentRow, notice: AlertNotice, now: float) -> bool:
        # The fix did not hold: a person must take it up again, with fresh deadlines. The earlier
        # acknowledgement and breaches stay on the timeline.
        clock_from, ack_due, respond_due = self.incidents.deadlines_from(row.severity, now)
        done = session.execute(update(IncidentRow).where(IncidentRow.id == row.id, IncidentRow.status == "resolved")
                               .values(status="triggered", stage=None, resolved_at=None, resolved_by=None,
                                       ack_at=None, ack_by=None, responded_at=None, ack_breached_at=None,
                                       respond_breached_at=None, clock_from=clock_from, ack_due=ack_due,
                                       respond_due=respond_due, reopened=row.reopened + 1, updated_at=now))
        if not getattr(done, "rowcount", 0):
            return False
        event(session, row.id, "reopened", SYSTEM, now, alert=notice.alert, ack_due=ack_due, respond_due=respond_due)
        session.refresh(row)
        return True

    def _raise(self, session: Session, row: IncidentRow, severity: str, notice: AlertNotice, now: float) -> None:
        # A worse alert on the same subject: the incident takes its severity, and any deadline not met
        # yet becomes the sooner of the two.
        _, ack_due, respond_due = self.incidents.deadlines_from(severity, now)
        values = {"severity": severity, "updated_at": now}
        if row.ack_at is None:
            values["ack_due"] = min(row.ack_due, ack_due)
        if row.responded_at is None:
            values["respond_due"] = min(row.respond_due, respond_due)
        session.execute(update(IncidentRow).where(IncidentRow.id == row.id).values(values))
        event(session, row.id, "severity", SYSTEM, now, previous=row.severity, severity=severity, alert=notice.alert)
