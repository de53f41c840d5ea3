"""An incident's lifecycle on a real state database (SQLite, PostgreSQL and MariaDB): each step in
order, the timeline it leaves, the steps out of order refused with one clear line, and missed
deadlines recorded once."""

from __future__ import annotations

import json
import threading

import pytest

from opsplan.incidents.errors import IncidentError
from opsplan.incidents.lifecycle import Incidents
from opsplan.plan.models import Plan, Text
from opsplan.store.state import StateDB
from seoul_time import at, no_public_holidays


@pytest.fixture
def incidents(engine_state_url):
    db = StateDB.open(engine_state_url)
    yield Incidents(Plan(), db, holiday_source=no_public_holidays)
    db.close()


def title(text: str = "llm-api answers 500") -> Text:
    return Text(ko=text, en=text)


def kinds(incidents: Incidents, incident_id: int) -> list[str]:
    return [e["kind"] for e in incidents.get(incident_id)["timeline"]]


def test_triggered_to_closed_through_the_three_stages(incidents):
    now = at("2026-12-01 10:00")
    iid = incidents.open("critical", title(), by="kim", now=now)
    assert incidents.get(iid)["status"] == "triggered"
    incidents.acknowledge(iid, by="kim", now=now + 60)
    for stage in (1, 2, 3):
        incidents.enter_stage(iid, stage, by="kim", now=now + 120 * stage)
    shown = incidents.get(iid)
    assert (shown["status"], shown["stage"], shown["stage_name"]["ko"]) == ("stage", 3, "복구 실행")
    incidents.note(iid, "restarted the API container", by="lee", now=now + 500)
    incidents.resolve(iid, by="kim", now=now + 600, note="config rolled back")
    # A critical incident closes with its final postmortem (incidents/postmortem.py).
    from opsplan.incidents import checklist, postmortem

    with incidents.db.session() as session:
        checklist.set_fields(session, iid, {"root_cause": "bad config", "fix": "rolled back"}, by="kim", now=now + 650)
        postmortem.make_final(session, incidents.plan, iid, by="kim", now=now + 660)
    incidents.close(iid, by="kim", now=now + 700)
    shown = incidents.get(iid)
    assert shown["status"] == "closed" and shown["closed_by"] == "kim"
    assert shown["ack_breached_at"] is None and shown["respond_breached_at"] is None  # all within 15 minutes
    assert kinds(incidents, iid) == ["opened", "acknowledged", "stage", "stage", "stage", "note", "resolved", "fields",
                                     "postmortem_final", "closed"]
    assert incidents.list() == []  # closed: off the open list
    assert [i["id"] for i in incidents.list(include_done=True)] == [iid]


def test_steps_out_of_order_are_refused_with_one_line(incidents):
    now = at("2026-12-01 10:00")
    with pytest.raises(IncidentError, match=r"^unknown severity 'urgent' \(one of critical, major, minor\)$"):
        incidents.open("urgent", title(), by="kim", now=now)
    iid = incidents.open("major", title(), by="kim", now=now)
    with pytest.raises(IncidentError, match=r"^incident \d+ is still open and cannot be closed: resolve it first"):
        incidents.close(iid, by="kim", now=now)
    with pytest.raises(IncidentError, match=r"^there is no stage 4 \(the plan has stages 1-3\)$"):
        incidents.enter_stage(iid, 4, by="kim", now=now)
    with pytest.raises(IncidentError, match=r"^there is no incident 999$"):
        incidents.acknowledge(999, by="kim", now=now)
    incidents.acknowledge(iid, by="kim", now=now)
    with pytest.raises(IncidentError, match="is already acknowledged"):
        incidents.acknowledge(iid, by="lee", now=now)
    incidents.resolve(iid, by="kim", now=now)
    with pytest.raises(IncidentError, match="is already resolved"):
        incidents.enter_stage(iid, 1, by="kim", now=now)
    with pytest.raises(IncidentError, match="the note is empty"):
        incidents.note(iid, "  ", by="kim", now=now)
    # Refused steps leave no trace: the timeline has only what happened.
    assert kinds(incidents, iid) == ["opened", "acknowledged", "resolved"]


def test_the_error_is_korean_for_a_korean_plan(incidents):
    from opsplan.errors import in_language

    iid = incidents.open("minor", title(), by="kim", now=at("2026-12-01 10:00"))
    with pytest.raises(IncidentError) as caught:
        incidents.close(iid, by="kim", now=at("2026-12-01 10:00"))
    assert in_language(caught.value, "ko").startswith(f"장애 {iid}")
    assert "먼저 해결하십시오" in in_language(caught.value, "ko")


def test_a_missed_acknowledgement_is_recorded_once(incidents):
    opened = at("2026-12-05 03:00")  # Saturday night: a critical counts at once
    iid = incidents.open("critical", title(), by="opsplan", now=opened)
    assert incidents.check_deadlines(opened + 14 * 60) == []
    breaches = incidents.check_deadlines(opened + 16 * 60)
    assert [(b.incident_id, b.deadline) for b in breaches] == [(iid, "ack"), (iid, "respond")]
    assert incidents.check_deadlines(opened + 30 * 60) == []  # already recorded
    shown = incidents.get(iid)
    assert shown["ack_breached_at"] == opened + 15 * 60
    assert kinds(incidents, iid) == ["opened", "ack_missed", "respond_missed"]
    opened_now, overdue, ever = incidents.counts(opened + 30 * 60)
    assert opened_now["critical"] == 1 and overdue["critical"] == 1 and ever[("critical", "ack")] == 1


def test_an_acknowledgement_late_between_two_checks_still_counts_as_missed(incidents):
    opened = at("2026-12-01 10:00")
    iid = incidents.open("critical", title(), by="opsplan", now=opened)
    incidents.acknowledge(iid, by="kim", now=opened + 20 * 60)  # 5 minutes late, no check ran
    shown = incidents.get(iid)
    assert shown["ack_breached_at"] == opened + 15 * 60 and shown["respond_breached_at"] is None
    incidents.enter_stage(iid, 1, by="kim", now=opened + 21 * 60)
    assert incidents.get(iid)["respond_breached_at"] == opened + 15 * 60


def test_a_major_at_night_is_not_overdue_before_monday(incidents):
    iid = incidents.open("major", title(), by="opsplan", now=at("2026-12-04 20:00"))
    assert incidents.check_deadlines(at("2026-12-06 23:00")) == []
    assert [b.deadline for b in incidents.check_deadlines(at("2026-12-07 09:31"))] == ["ack"]
    assert incidents.get(iid)["deadlines_from"] == at("2026-12-07 09:00")


def test_cancel_and_merge_are_the_other_ways_out(incidents):
    now = at("2026-12-01 10:00")
    first = incidents.open("major", title(), by="kim", now=now)
    second = incidents.open("minor", title("slow answers"), by="lee", now=now + 60)
    false_alarm = incidents.open("minor", title("probe misconfigured"), by="lee", now=now + 90)
    incidents.merge(second, into=first, by="kim", now=now + 120)
    incidents.cancel(false_alarm, by="lee", now=now + 130, reason="the probe URL was wrong")
    assert [i["id"] for i in incidents.list()] == [first]
    assert incidents.get(second)["merged_into"] == first
    assert kinds(incidents, first)[-1] == "merged_from"
    with pytest.raises(IncidentError, match="cannot be merged into itself"):
        incidents.merge(first, into=first, by="kim", now=now)
    with pytest.raises(IncidentError, match="was cancelled"):
        incidents.resolve(false_alarm, by="lee", now=now + 200)


def test_a_long_incidents_final_postmortem_keeps_its_whole_timeline(incidents):
    # The final postmortem freezes the incident's facts, its timeline among them, into one timeline
    # entry: a long incident's passes the 64 KB of MariaDB's TEXT, which refused the row.
    from opsplan.incidents import checklist, postmortem

    now = at("2026-12-01 10:00")
    iid = incidents.open("major", title(), by="kim", now=now)
    incidents.acknowledge(iid, by="kim", now=now + 60)
    for n in range(150):
        incidents.note(iid, f"{n:03d} 재시작 후 다시 오류: " + "로그 확인 " * 40, by="lee", now=now + 120 + n)
    incidents.resolve(iid, by="kim", now=now + 600)
    with incidents.db.session() as session:
        checklist.set_fields(session, iid, {"root_cause": "메모리 부족", "fix": "배치 크기 축소"}, by="kim",
                             now=now + 650)
        postmortem.make_final(session, incidents.plan, iid, by="kim", now=now + 660)
    incidents.close(iid, by="kim", now=now + 700)
    with incidents.db.session() as session:
        final = postmortem.final_of(session, iid)
    assert final is not None and final["root_cause"] == "메모리 부족"
    stored = next(e for e in incidents.get(iid)["timeline"] if e["kind"] == "postmortem_final")
    assert len(json.dumps(stored["data"], ensure_ascii=False).encode()) > 64 * 1024
    assert "149 재시작 후 다시 오류" in json.dumps(final, ensure_ascii=False)


def test_people_acknowledging_at_once_leave_one_acknowledgement_and_one_breach(incidents):
    # Each step is a compare-and-set: of four at once exactly one wins on every engine (row locks on
    # the servers, one writer at a time on SQLite), the others are told why, and a deadline checked
    # by four at once is recorded once.
    opened = at("2026-12-05 03:00")
    iid = incidents.open("critical", title(), by="opsplan", now=opened)
    people = ["kim", "lee", "park", "choi"]
    start = threading.Barrier(len(people))
    outcome: dict[str, str] = {}
    breaches: list = []

    def step(person: str) -> None:
        start.wait()
        breaches.extend(incidents.check_deadlines(opened + 20 * 60))
        try:
            incidents.acknowledge(iid, by=person, now=opened + 20 * 60)
            outcome[person] = "acknowledged"
        except IncidentError as exc:
            outcome[person] = str(exc)

    threads = [threading.Thread(target=step, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [p for p, said in outcome.items() if said == "acknowledged"]
    assert len(winners) == 1, outcome
    assert all("is already acknowledged" in said for p, said in outcome.items() if p not in winners)
    shown = incidents.get(iid)
    assert shown["acknowledged_by"] == winners[0]
    assert kinds(incidents, iid).count("acknowledged") == 1
    assert kinds(incidents, iid).count("ack_missed") == 1 and [b.deadline for b in breaches].count("ack") == 1
