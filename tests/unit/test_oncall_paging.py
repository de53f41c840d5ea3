"""On-call paging as `serve` runs it: the notify, incident and on-call stages on one real state
database (SQLite, PostgreSQL and MariaDB), the real Notifier sending through apprise to real local
webhook receivers (one per person), an injected clock. What is asserted is what each person's phone
would have received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest

from http_stubs import Webhook
from opsplan.incidents.lifecycle import Incidents
from opsplan.metrics import Cycle
from opsplan.notify.service import Notifier
from opsplan.oncall.paging import snooze
from opsplan.oncall.tables import MaintenanceRow
from opsplan.plan.models import (
    Channel,
    EscalationPolicy,
    EscalationStep,
    Notifications,
    OnCall,
    Person,
    Plan,
    Rotation,
    Text,
)
from opsplan.stages import incidents as incident_stage
from opsplan.stages import notify as notify_stage
from opsplan.stages import oncall as oncall_stage
from opsplan.stages.part import StageContext
from opsplan.store.state import StateDB
from seoul_time import at
from state_engines import sqlite_only


def plan_for(**oncall: object) -> Plan:
    # kim is reached through a channel of the plan, lee through an own URL (person:lee).
    people = [Person(name="kim", channels=["kim-phone"]), Person(name="lee", url_env="LEE_URL")]
    return Plan(notifications=Notifications(channels=[Channel(name="kim-phone", url_env="KIM_URL", kind="webhook")]),
                oncall=OnCall(people=people, rotation=Rotation(people=["kim", "lee"], start=date(2026, 11, 30)),
                              **oncall))


class Serve:
    """The three stages of one serve, cycle by cycle; delivery run after each cycle."""

    def __init__(self, db: StateDB, plan: Plan, hooks: dict[str, Webhook], start: float):
        self.now = start
        environ = {"KIM_URL": hooks["kim"].url, "LEE_URL": hooks["lee"].url}
        self.context = StageContext(plan=plan, state_db=db, environ=environ)
        notify_part = notify_stage.STAGE.build(self.context)
        notifier = self.context.get(Notifier)
        assert notifier is not None
        notifier.clock = lambda: self.now
        self.notifier = notifier
        self.parts = [notify_part, incident_stage.STAGE.build(self.context), oncall_stage.STAGE.build(self.context)]
        incidents = self.context.get(Incidents)
        assert incidents is not None
        self.incidents = incidents

    def cycle(self, *, deliver: bool = True) -> None:
        cycle = Cycle(self.now, [], 0.1)
        for part in self.parts:
            for hook in part.on_cycle:
                hook(cycle)
        if deliver:
            self.notifier.deliver_due(self.now)

    def until(self, end: float, step: float = 60.0) -> None:
        while self.now < end:
            self.now = min(self.now + step, end)
            self.cycle()

    def open(self, severity: str) -> int:
        return self.incidents.open(severity, Text(ko="API 서버 응답 없음", en="API server down"), by="test",
                                   now=self.now)

    def kinds(self, incident_id: int) -> list[str]:
        return [e["kind"] for e in self.incidents.get(incident_id)["timeline"]]


def pages(phone: Webhook) -> list[dict]:
    """What the person's phone got about incidents (hand-off notices aside)."""
    return [p for p in phone.posts if "호출" in p["title"]]


def handoffs(phone: Webhook) -> list[dict]:
    return [p for p in phone.posts if "당직 인계" in p["title"]]


def hooks() -> dict[str, Webhook]:
    return {"kim": Webhook(), "lee": Webhook()}


@pytest.fixture
def db(engine_state_url: str) -> Iterator[StateDB]:
    state = StateDB.open(engine_state_url)
    yield state
    state.close()


def test_a_critical_incident_pages_the_primary_at_3am_then_the_secondary_until_someone_acknowledges(db):
    phones = hooks()
    serve = Serve(db, plan_for(), phones, at("2026-12-02 03:00"))  # a Wednesday night
    incident = serve.open("critical")
    serve.cycle()
    assert len(pages(phones["kim"])) == 1 and pages(phones["lee"]) == []
    page = pages(phones["kim"])[0]
    assert f"장애 {incident}번 호출" in page["title"] and "API 서버 응답 없음" in page["title"]
    assert f"opsplan incident ack {incident}" in page["message"]

    serve.until(at("2026-12-02 03:14"))  # the secondary's step is 15 minutes after the first
    assert pages(phones["lee"]) == []
    serve.until(at("2026-12-02 03:16"))
    assert len(pages(phones["lee"])) == 1 and len(pages(phones["kim"])) == 1

    serve.incidents.acknowledge(incident, by="lee", now=serve.now)
    serve.until(at("2026-12-02 04:30"))  # past the next round's time (15 minutes after the last step)
    assert len(pages(phones["kim"])) == 1 and len(pages(phones["lee"])) == 1
    kinds = serve.kinds(incident)
    assert kinds.count("paged") == 2 and "paging_stopped" in kinds


@sqlite_only
def test_without_an_acknowledgement_the_steps_repeat_as_the_policy_says_then_stop(db):
    phones = hooks()
    policy = EscalationPolicy(steps=[EscalationStep(to="primary"), EscalationStep(to="secondary", after=300)],
                              repeat=2, repeat_after=600, hours="any_hour")
    serve = Serve(db, plan_for(escalation={"critical": policy}), phones, at("2026-12-02 03:00"))
    serve.open("critical")
    serve.cycle()
    serve.until(at("2026-12-02 05:00"))
    # kim at 03:00, lee at 03:05, kim at 03:15, lee at 03:20, then nothing more.
    assert len(pages(phones["kim"])) == 2 and len(pages(phones["lee"])) == 2


@sqlite_only
def test_a_major_incident_on_friday_night_pages_nobody_until_monday_9am(db):
    phones = hooks()
    serve = Serve(db, plan_for(), phones, at("2026-12-04 20:00"))  # Friday 20:00 KST
    incident = serve.open("major")
    serve.cycle()
    timeline = serve.incidents.get(incident)["timeline"]
    queued = [e for e in timeline if e["kind"] == "page_queued"]
    assert len(queued) == 1 and queued[0]["data"]["not_before"] == at("2026-12-07 09:00")
    for moment in ("2026-12-04 23:00", "2026-12-05 03:00", "2026-12-06 12:00", "2026-12-07 08:59"):
        serve.now = at(moment)
        serve.cycle()
    assert pages(phones["kim"]) == [] and pages(phones["lee"]) == []
    # Monday 09:00 is also the weekly hand-off: the page goes to the incoming primary, lee.
    serve.now = at("2026-12-07 09:00")
    serve.cycle()
    assert len(pages(phones["lee"])) == 1 and pages(phones["kim"]) == []
    serve.until(at("2026-12-07 09:29"))  # the secondary's step: 30 business minutes later
    assert pages(phones["kim"]) == []
    serve.until(at("2026-12-07 09:31"))
    assert len(pages(phones["kim"])) == 1 and len(pages(phones["lee"])) == 1
    assert serve.kinds(incident).count("page_queued") == 1


@sqlite_only
def test_an_acknowledgement_over_the_weekend_means_nobody_is_paged_on_monday(db):
    phones = hooks()
    serve = Serve(db, plan_for(), phones, at("2026-12-04 20:00"))
    incident = serve.open("major")
    serve.cycle()
    serve.incidents.acknowledge(incident, by="kim", now=at("2026-12-04 21:00"))
    serve.now = at("2026-12-04 21:00")
    serve.cycle()
    for moment in ("2026-12-07 09:00", "2026-12-07 09:05", "2026-12-07 10:00"):
        serve.now = at(moment)
        serve.cycle()
    assert pages(phones["kim"]) == [] and pages(phones["lee"]) == []
    assert "paging_stopped" in serve.kinds(incident)
    # Re-paging counts business time too: two idle business hours after the acknowledgement is 11:00 Monday.
    serve.now = at("2026-12-07 11:01")
    serve.cycle()
    assert len(pages(phones["kim"])) == 1 and "다시 호출" in pages(phones["kim"])[0]["title"]


def test_a_restarted_serve_mid_escalation_sends_nothing_twice_and_forgets_nothing(db):
    phones = hooks()
    first = Serve(db, plan_for(), phones, at("2026-12-02 03:00"))
    incident = first.open("critical")
    first.cycle(deliver=False)  # the page is in the outbox; serve stops before the notifier sent it
    second = Serve(db, plan_for(), phones, at("2026-12-02 03:01"))  # a new engine on the same state DB
    second.cycle()
    second.cycle()
    assert len(pages(phones["kim"])) == 1
    third = Serve(db, plan_for(), phones, at("2026-12-02 03:05"))
    third.until(at("2026-12-02 03:20"))
    assert len(pages(phones["kim"])) == 1 and len(pages(phones["lee"])) == 1
    assert third.kinds(incident).count("paged") == 2


def test_an_acknowledged_incident_left_alone_repages_its_owner_unless_snoozed(db):
    phones = hooks()
    serve = Serve(db, plan_for(repage_after=3600), phones, at("2026-12-02 03:00"))
    incident = serve.open("critical")
    serve.cycle()
    serve.incidents.acknowledge(incident, by="lee", now=serve.now)
    serve.until(at("2026-12-02 04:05"), step=300)
    assert len(pages(phones["lee"])) == 1  # lee acknowledged it: lee hears again, not the primary
    assert "다시 호출" in pages(phones["lee"])[0]["title"]
    snooze(db, incident, at("2026-12-02 07:00"), by="lee", now=serve.now)
    serve.until(at("2026-12-02 06:55"), step=300)
    assert len(pages(phones["lee"])) == 1
    assert "snoozed" in serve.kinds(incident)


def test_a_maintenance_window_holds_paging_and_says_so_on_the_timeline(db):
    phones = hooks()
    with db.session() as session:
        session.add(MaintenanceRow(subjects=json.dumps(["*"]), start=at("2026-12-02 02:00"),
                                   end=at("2026-12-02 04:00"), reason="GPU 교체", created_by="test", created_at=0.0))
    serve = Serve(db, plan_for(), phones, at("2026-12-02 03:00"))
    incident = serve.open("critical")
    serve.until(at("2026-12-02 03:59"), step=300)
    assert pages(phones["kim"]) == []
    assert "paging_held" in serve.kinds(incident)
    serve.until(at("2026-12-02 04:01"))
    assert len(pages(phones["kim"])) == 1


def test_the_incoming_primary_hears_of_the_hand_off_once_even_across_a_restart(db):
    phones = hooks()
    serve = Serve(db, plan_for(), phones, at("2026-12-07 08:58"))  # kim's week ends Monday 09:00
    serve.cycle()
    assert len(handoffs(phones["kim"])) == 1 and handoffs(phones["lee"]) == []
    serve.until(at("2026-12-07 09:02"))
    restarted = Serve(db, plan_for(), phones, at("2026-12-07 09:03"))
    restarted.until(at("2026-12-07 09:10"))
    assert len(handoffs(phones["lee"])) == 1 and len(handoffs(phones["kim"])) == 1
    notice = handoffs(phones["lee"])[0]
    assert "2026-12-07 09:00:00 KST" in notice["message"] and "2026-12-14 09:00:00 KST" in notice["message"]


def test_a_reopened_incident_pages_again_from_the_first_step(db):
    from sqlalchemy import update

    from opsplan.incidents.records import SYSTEM, event
    from opsplan.incidents.tables import IncidentRow

    phones = hooks()
    serve = Serve(db, plan_for(), phones, at("2026-12-02 03:00"))
    incident = serve.open("critical")
    serve.cycle()
    serve.incidents.acknowledge(incident, by="kim", now=serve.now)
    serve.incidents.resolve(incident, by="kim", now=serve.now + 60)
    serve.until(at("2026-12-02 03:10"))
    assert len(pages(phones["kim"])) == 1
    with db.session() as session:  # what the alert intake does when the alert fires again soon after
        session.execute(update(IncidentRow).where(IncidentRow.id == incident).values(
            status="triggered", reopened=IncidentRow.reopened + 1, ack_at=None, ack_by=None, resolved_at=None))
        event(session, incident, "reopened", SYSTEM, serve.now, alert="ApiDown")
    serve.until(at("2026-12-02 03:12"))
    assert len(pages(phones["kim"])) == 2


def test_an_incident_opened_by_this_cycles_alert_pages_in_the_same_cycle(db):
    # In serve the alert engine reads the clock after collection, so an alert's incident opens a
    # moment after the cycle's own timestamp: its first page must still go in that cycle, not one
    # collection interval later.
    phones = hooks()
    serve = Serve(db, plan_for(), phones, at("2026-12-02 03:00"))
    serve.cycle()  # the hand-off notice, nothing else
    cycle_start = serve.now + 15.0
    incident = serve.incidents.open("critical", Text(ko="API 서버 응답 없음", en="API server down"), by="test",
                                    now=cycle_start + 0.4)
    serve.now = cycle_start
    serve.cycle(deliver=False)
    serve.now = cycle_start + 1.0  # the notifier's own clock has moved on when it delivers
    serve.notifier.deliver_due(serve.now)
    assert len(pages(phones["kim"])) == 1 and pages(phones["lee"]) == []
    assert serve.kinds(incident).count("paged") == 1


def test_two_incidents_due_in_one_cycle_page_the_earliest_due_first(db):
    """Which of two due incidents is paged first is the same on every engine: the earlier due one,
    then the lower id (the rows were read without an order, each engine its own)."""
    phones = hooks()
    serve = Serve(db, plan_for(), phones, at("2026-12-02 03:00"))
    later = serve.open("critical")  # due now
    earlier = serve.incidents.open("critical", Text(ko="MariaDB 응답 없음", en="MariaDB down"), by="test",
                                   now=serve.now - 120)  # reported late: due two minutes ago
    assert earlier > later
    serve.cycle()
    titles = [p["title"] for p in pages(phones["kim"])]
    assert len(titles) == 2, titles
    assert f"장애 {earlier}번 호출" in titles[0] and f"장애 {later}번 호출" in titles[1], titles
