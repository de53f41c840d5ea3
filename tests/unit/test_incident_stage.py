"""The incident stage as `serve` builds it, fed by a real AlertEngine through the notice fan-out, on
a real state database (SQLite, PostgreSQL and MariaDB), with an injected clock: what an operator would see in
`opsplan incident list` and in the exported metrics."""

from __future__ import annotations

import pytest

from opsplan.alerts.engine import AlertEngine
from opsplan.incidents.lifecycle import Incidents
from opsplan.metrics import Cycle, sample
from opsplan.plan.models import AlertMapping, Plan
from opsplan.rules.model import build_rules
from opsplan.stages import incidents as incident_stage
from opsplan.stages.all import metric_registry
from opsplan.stages.part import StageContext
from opsplan.store.state import StateDB
from seoul_time import at
from state_engines import sqlite_only

INTERVAL = 15.0


class Serve:
    """The alerting and incident stages of one serve, cycle by cycle."""

    def __init__(self, db: StateDB, start: float, plan: Plan | None = None):
        self.now = start
        plan = plan or Plan()
        self.context = StageContext(plan=plan, state_db=db)
        self.engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=self.context.notices,
                                  clock=lambda: self.now, host="ai-server-01")
        self.context.provide(self.engine)  # the alerting stage is built before the incident stage
        self.part = incident_stage.STAGE.build(self.context)
        self.incidents = self.context.get(Incidents)
        self.samples: list = []

    def cycle(self, *samples):
        cycle = Cycle(self.now, list(samples), 0.1)
        self.engine.on_cycle(cycle)
        for hook in self.part.on_cycle:
            hook(cycle)
        self.samples = cycle.samples
        self.now += INTERVAL

    def hold(self, seconds, *samples):
        for _ in range(int(seconds // INTERVAL)):
            self.cycle(*samples)

    def metric(self, name, **labels):
        wanted = tuple(sorted((k, str(v)) for k, v in labels.items()))
        return next(s.value for s in self.samples if s.name == name and s.labels == wanted)


def api(up):
    return sample("opsplan_api_up", 1 if up else 0, service="llm-api")


def errors(ratio):
    return [sample("opsplan_api_error_ratio", ratio, service="llm-api"),
            sample("opsplan_api_requests_per_second", 20, service="llm-api")]


@pytest.fixture
def db(engine_state_url):
    state = StateDB.open(engine_state_url)
    yield state
    state.close()


def test_an_api_outage_at_3_a_m_opens_one_critical_incident_within_a_cycle_of_the_alert(db):
    serve = Serve(db, at("2026-12-05 03:00"))
    serve.hold(60, api(up=True))
    serve.hold(75, api(up=False))  # ApiDown fires after 60 s down
    [incident] = serve.incidents.list()
    assert incident["severity"] == "critical" and incident["status"] == "triggered"
    assert incident["title"]["en"].startswith("API") and "llm-api" in incident["title"]["en"]
    # Counted on the wall clock from the firing, though it is Saturday night.
    assert incident["ack_due"] == incident["opened_at"] + 15 * 60
    assert serve.metric("opsplan_incidents_open", severity="critical") == 1
    assert serve.metric("opsplan_incidents_open", severity="major") == 0

    # The error rate of the same service fires too: it joins the same incident, no second one.
    serve.hold(330, api(up=False), *errors(0.05))
    assert [i["id"] for i in serve.incidents.list()] == [incident["id"]]
    shown = serve.incidents.get(incident["id"])
    assert sorted(a["alert"] for a in shown["alerts"]) == ["ApiDown", "ApiErrorRateHigh"]

    # The API comes back: the alerts resolve, the incident stays open for a person to resolve.
    serve.hold(600, api(up=True), *errors(0.0))
    shown = serve.incidents.get(incident["id"])
    assert shown["status"] == "triggered"
    assert [e["kind"] for e in shown["timeline"]].count("alert_resolved") == 2
    # Nobody acknowledged within 15 minutes: recorded, exported.
    assert shown["ack_breached_at"] == incident["ack_due"]
    assert serve.metric("opsplan_incident_deadline_breaches_total", severity="critical", deadline="ack") == 1
    assert serve.metric("opsplan_incidents_overdue", severity="critical") == 1


def test_a_refire_soon_after_the_resolve_reopens_and_a_later_one_opens_anew(db):
    serve = Serve(db, at("2026-12-01 10:00"))
    serve.hold(90, api(up=False))
    [incident] = serve.incidents.list()
    serve.hold(60, api(up=True))
    serve.incidents.resolve(incident["id"], by="kim", now=serve.now)

    serve.hold(90, api(up=False))  # within the hour: the fix did not hold
    [again] = serve.incidents.list()
    assert again["id"] == incident["id"] and again["status"] == "triggered" and again["reopened"] == 1
    assert again["ack_due"] > incident["ack_due"]  # fresh deadlines from the re-fire

    serve.hold(60, api(up=True))
    serve.incidents.resolve(incident["id"], by="kim", now=serve.now)
    serve.hold(2 * 3600, api(up=True))
    serve.hold(90, api(up=False))  # two hours later: a new incident
    [new] = serve.incidents.list()
    assert new["id"] != incident["id"]


@sqlite_only
def test_an_alert_the_plan_does_not_map_opens_nothing(db):
    serve = Serve(db, at("2026-12-01 10:00"))
    serve.hold(400, sample("opsplan_cpu_usage_ratio", 0.95))  # CpuUsageHigh critical: a warning, no incident
    assert serve.engine is not None and serve.incidents.list() == []
    assert serve.metric("opsplan_incidents_open", severity="critical") == 0


@sqlite_only
def test_a_slow_api_on_friday_night_is_a_minor_due_on_monday(db):
    serve = Serve(db, at("2026-12-04 20:00"))
    serve.hold(400, sample("opsplan_api_response_seconds", 3.0, service="llm-api", quantile="0.95"))
    [incident] = serve.incidents.list()
    assert incident["severity"] == "minor"
    assert incident["deadlines_from"] == at("2026-12-07 09:00") and incident["respond_due"] == at("2026-12-07 13:00")


def test_an_alert_from_an_external_alertmanager_follows_the_same_mapping(db):
    plan = Plan()
    mapping = [AlertMapping(alerts=["NodeDown"], incident="critical", external=True), *plan.incidents.from_alerts]
    plan = plan.model_copy(update={"incidents": plan.incidents.model_copy(update={"from_alerts": mapping})})
    serve = Serve(db, at("2027-01-15 12:00"), plan)
    alert = {"status": "firing", "labels": {"alertname": "NodeDown", "severity": "critical", "instance": "gpu-02"},
             "annotations": {"summary": "Node is down"}, "startsAt": "2027-01-15T03:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a1b2c3d4e5f60718"}
    serve.engine.ingest_external({"version": "4", "alerts": [alert]})
    serve.engine.ingest_external({"version": "4", "alerts": [alert]})  # Alertmanager repeats itself
    [incident] = serve.incidents.list()
    assert incident["severity"] == "critical" and incident["title"]["en"].startswith("Node is down")
    assert incident["opened_at"] == at("2027-01-15 12:00")  # 03:00 UTC, when it began firing
    serve.engine.ingest_external({"version": "4", "alerts": [{**alert, "status": "resolved",
                                                              "endsAt": "2027-01-15T03:10:00Z"}]})
    shown = serve.incidents.get(incident["id"])
    assert shown["status"] == "triggered" and shown["alerts"][0]["resolved_at"] == at("2027-01-15 12:10")


def test_an_alert_that_fired_while_no_incident_stage_listened_opens_its_incident_on_the_first_cycle(db):
    start = at("2026-12-05 03:00")
    plan = Plan()
    now = [start]
    heard = []
    before = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=heard.append,
                         clock=lambda: now[0], host="ai-server-01")
    for _ in range(6):  # an older serve without incidents: ApiDown fired and was notified
        before.on_cycle(Cycle(now[0], [api(up=False)], 0.1))
        now[0] += INTERVAL
    assert [(n.kind, n.alert) for n in heard] == [("firing", "ApiDown")]
    serve = Serve(db, now[0])
    assert serve.incidents.list() == []
    serve.cycle(api(up=False))
    [incident] = serve.incidents.list()
    assert incident["severity"] == "critical" and incident["opened_at"] == heard[0].started_at
    serve.hold(60, api(up=False))  # and only once
    assert len(serve.incidents.get(incident["id"])["alerts"]) == 1


def test_a_closed_incident_is_never_reopened(db):
    serve = Serve(db, at("2026-12-01 10:00"))
    serve.hold(90, api(up=False))
    [incident] = serve.incidents.list()
    serve.hold(60, api(up=True))
    serve.incidents.resolve(incident["id"], by="kim", now=serve.now)
    from opsplan.incidents import checklist, postmortem  # a critical closes with its final postmortem

    with db.session() as session:
        checklist.set_fields(session, incident["id"], {"root_cause": "probe", "fix": "restart"}, by="kim",
                             now=serve.now)
        postmortem.make_final(session, serve.incidents.plan, incident["id"], by="kim", now=serve.now)
    serve.incidents.close(incident["id"], by="kim", now=serve.now)
    serve.hold(90, api(up=False))  # within reopen_within, but a person closed it: a new incident
    [new] = serve.incidents.list()
    assert new["id"] != incident["id"] and serve.incidents.get(incident["id"])["status"] == "closed"


FILLERS = {
    "incidents": "INSERT INTO incidents (title, description, severity, status, source, opened_at, opened_by, "
                 "clock_from, ack_due, respond_due, reopened, updated_at) VALUES ('{}', '', 'minor', 'closed', "
                 "'manual', 0, 'filler', 0, 0, 0, 0, 0)",
    "incident_timeline": "INSERT INTO incident_timeline (incident_id, at, kind, actor, data) "
                         "VALUES (0, 0, 'filler', 'filler', '{}')",
    "incident_alerts": "INSERT INTO incident_alerts (incident_id, fingerprint, alert, severity, labels, started_at) "
                       "VALUES (0, 'filler', 'Filler', 'warning', '{}', 0)",
}


def fill_incident_tables(db: StateDB) -> None:
    """The free room in the incident tables' pages taken too: a full disk leaves none anywhere."""
    from sqlalchemy import text

    for statement in FILLERS.values():
        for _ in range(10_000):
            try:
                with db.session() as session:
                    session.execute(text(statement))
            except Exception:  # noqa: BLE001 - SQLITE_FULL: this table's pages are full
                break


def test_an_outage_on_a_full_disk_opens_its_incident_once_the_disk_has_room(tmp_path):
    from test_alerts_full_disk import FullableDB

    from opsplan.store.health import Persistence

    full = FullableDB(tmp_path / "state.db", Persistence())
    try:
        serve = Serve(full.db, at("2026-12-05 03:00"))
        serve.hold(30, api(up=True))
        full.fill()
        fill_incident_tables(full.db)
        serve.hold(90, api(up=False))  # ApiDown fires (the engine notifies from memory); nothing can be written
        assert serve.incidents.list() == []
        assert "incidents" in full.db.health.problems()  # /healthz says so
        full.free()
        serve.cycle(api(up=False))
        [incident] = serve.incidents.list()
        assert incident["severity"] == "critical"
        assert "incidents" not in full.db.health.problems()
        serve.hold(60, api(up=False))
        assert len(serve.incidents.get(incident["id"])["alerts"]) == 1
    finally:
        full.db.close()


def external_alert(name: str, fingerprint: str, **labels: str) -> dict:
    return {"status": "firing", "labels": {"alertname": name, "severity": "critical", **labels},
            "annotations": {"summary": f"{name} fired"}, "startsAt": "2027-01-15T03:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": fingerprint}


def serve_mapping_external(db, *names: str) -> Serve:
    plan = Plan()
    mapping = [AlertMapping(alerts=list(names), incident="critical", external=True), *plan.incidents.from_alerts]
    plan = plan.model_copy(update={"incidents": plan.incidents.model_copy(update={"from_alerts": mapping})})
    return Serve(db, at("2027-01-15 12:00"), plan)


def test_an_external_alert_with_a_long_name_and_labels_still_opens_its_incident(db):
    # PostgreSQL and MariaDB refuse a VARCHAR value longer than its column: the incident's key and
    # its alert link would be lost with the whole transaction.
    name = "GpuXidErrorsReportedByTheDriver" * 10  # 310 characters
    serve = serve_mapping_external(db, name)
    serve.engine.ingest_external({"version": "4", "alerts": [
        external_alert(name, "0f0e0d0c0b0a0908", job="dcgm", pod="p" * 600)]})
    [incident] = serve.incidents.list()
    assert incident["severity"] == "critical"
    [link] = serve.incidents.get(incident["id"])["alerts"]
    assert link["labels"]["alertname"] == name and link["labels"]["pod"] == "p" * 600  # kept whole
    serve.engine.ingest_external({"version": "4", "alerts": [  # heard again: the same incident
        external_alert(name, "0f0e0d0c0b0a0908", job="dcgm", pod="p" * 600)]})
    assert [i["id"] for i in serve.incidents.list()] == [incident["id"]]


def test_subjects_that_differ_only_in_case_are_two_incidents(db):
    # Prometheus labels are case-sensitive: GPU-A and gpu-a are two devices. MariaDB's default
    # collation compares text case-insensitively and would have joined them into one incident.
    serve = serve_mapping_external(db, "DeviceDown")
    serve.engine.ingest_external({"version": "4", "alerts": [
        external_alert("DeviceDown", "1111111111111111", device="GPU-A"),
        external_alert("DeviceDown", "2222222222222222", device="gpu-a")]})
    assert len(serve.incidents.list()) == 2


def test_an_external_alert_with_a_description_past_64_kb_opens_its_incident_with_it_whole(db):
    # Prometheus templates a description without bound (the pods of a whole node); the incident keeps
    # it as its description. MariaDB's TEXT refused the row past 65,535 bytes: no incident opened.
    description = "\n".join(f"pod train-{i:05d} restarting on gpu-02 (CrashLoopBackOff, exit 137)" for i in range(1200))
    assert len(description.encode()) > 65_535
    serve = serve_mapping_external(db, "PodsCrashing")
    alert = external_alert("PodsCrashing", "3333333333333333")
    serve.engine.ingest_external({"version": "4", "alerts": [
        {**alert, "annotations": {"summary": "Pods crashing", "description": description}}]})
    [incident] = serve.incidents.list()
    assert serve.incidents.get(incident["id"])["description"] == description
