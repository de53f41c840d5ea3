"""Figures and SLA (issue 13 item 7): MTTA/MTTR over scripted incidents, and a month's availability
from `opsplan_api_up` samples written into a real metrics store, against hand-computed figures;
the incidents on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from opsplan.cli import incident_cmd
from opsplan.incidents.figures import figures
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.sla import month_range
from opsplan.incidents.tables import IncidentAlertRow
from opsplan.metrics import sample
from opsplan.plan.models import Plan, Text
from opsplan.stages.all import load_plan
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from seoul_time import at, no_public_holidays
from state_engines import STATE_URL_ENV
from yaml_writer import write_plan

MIN, HOUR, DAY = 60.0, 3600.0, 86400.0


def run(path, *args):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), *args])


def link_alert(db: StateDB, incident_id: int, alert: str, **labels: str) -> None:
    with db.session() as session:
        session.add(IncidentAlertRow(incident_id=incident_id, fingerprint=f"{alert}{incident_id}", alert=alert,
                                     severity="critical", labels=json.dumps(labels), started_at=0.0))


@pytest.fixture
def db(engine_state_url):
    state = StateDB.open(engine_state_url)
    yield state
    state.close()


def test_mtta_and_mttr_median_and_p90_per_severity(db):
    plan = Plan()
    incidents = Incidents(plan, db, holiday_source=no_public_holidays)
    # Four majors on four Mondays at 10:00: acknowledged after 10/20/30/40 min, resolved after 1/2/3/5 h.
    for week, (ack, resolve) in enumerate([(10, 1), (20, 2), (30, 3), (40, 5)]):
        opened = at("2026-11-02 10:00") + week * 7 * DAY
        iid = incidents.open("major", Text(ko="오류", en="errors"), by="opsplan", now=opened)
        incidents.acknowledge(iid, by="kim", now=opened + ack * MIN)
        incidents.resolve(iid, by="kim", now=opened + resolve * HOUR)
        link_alert(db, iid, "ApiErrorRateHigh" if week else "GpuDown")
    # A false positive counts nowhere, not even for its alert.
    false = incidents.open("critical", Text(ko="오탐", en="false"), by="opsplan", now=at("2026-11-03 03:00"))
    incidents.cancel(false, by="kim", now=at("2026-11-03 03:05"), reason="probe misconfigured")
    link_alert(db, false, "ApiDown")

    start, end = month_range("2026-11", plan.timezone)
    with db.session() as session:
        found = figures(session, plan, start, end)
    major = found["by_severity"]["major"]
    assert (major["incidents"], found["by_severity"]["critical"]["incidents"]) == (4, 0)
    assert (major["mtta"]["median"], major["mtta"]["p90"]) == (25 * MIN, 40 * MIN)
    assert (major["mttr"]["median"], major["mttr"]["p90"]) == (2.5 * HOUR, 5 * HOUR)
    assert major["ack_breaches"] == 1  # the 40-minute acknowledgement missed the 30-minute deadline
    assert major["ack_histogram"]["900"] == 1 and major["ack_histogram"]["1800"] == 3
    assert major["ack_histogram"]["+Inf"] == 4
    assert found["per_month"] == {"2026-11": 4}
    assert found["noisiest_alerts"] == [{"alert": "ApiErrorRateHigh", "incidents": 3},
                                        {"alert": "GpuDown", "incidents": 1}]


def test_sla_over_a_synthetic_month_of_stored_samples_equals_the_hand_computed_figure(tmp_path, monkeypatch,
                                                                                       engine_state_url):
    services = [{"name": "llm-api", "url": "http://127.0.0.1:9/health"}, {"name": "search", "url": "http://127.0.0.1:9/s"}]
    path = write_plan(tmp_path, {"language": "en", "state_db_url_env": STATE_URL_ENV, "services": services})
    plan = load_plan(path)
    start, end = at("2026-11-01 00:00"), at("2026-12-01 00:00")  # 30 days, Seoul time
    down_from, down_to = at("2026-11-10 02:00"), at("2026-11-10 08:00")
    with MetricsStore(plan.data_dir / "metrics", clock=lambda: end, sync=False) as store:
        t = start
        while t < end:  # one sample every 5 minutes: 8,640; llm-api down for 6 hours of them
            store.append(t, [sample("opsplan_api_up", 0 if down_from <= t < down_to else 1, service="llm-api")])
            t += 300
    # "search" has no samples: its month counts its critical incident's 3 hours as down.
    db = StateDB.open(engine_state_url)  # where the plan's state_db_url_env points
    try:
        incidents = Incidents(plan, db, holiday_source=no_public_holidays)
        iid = incidents.open("critical", Text(ko="검색 중단", en="search down"), by="opsplan",
                             now=at("2026-11-20 10:00"))
        incidents.resolve(iid, by="kim", now=at("2026-11-20 13:00"))
        link_alert(db, iid, "ApiDown", service="search")
    finally:
        db.close()

    monkeypatch.setattr(incident_cmd, "_clock", lambda: at("2026-12-02 09:00"))
    result = run(path, "sla", "report", "--month", "2026-11", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["target"] == 99.5
    api, search = report["services"]
    month = 30 * DAY
    assert api["availability"] == pytest.approx(1 - 72 / 8640)           # 99.1667 %
    assert api["downtime"] == pytest.approx(6 * HOUR)
    assert api["budget_used"] == pytest.approx(6 * HOUR / (0.005 * month))  # 166.7 % of 3.6 h
    assert (api["met"], api["source"]) == (False, "samples")
    assert search["availability"] == pytest.approx(1 - 3 * HOUR / month)   # 99.5833 %
    assert (search["met"], search["source"], search["incident_downtime"]) == (True, "incidents", 3 * HOUR)
    assert search["budget_used"] == pytest.approx(3 * HOUR / (0.005 * month))

    text = run(path, "sla", "report", "--month", "2026-11").output
    assert "llm-api: availability 99.167%, down 6h, error budget used 166.7% (missed)" in text
    bad = run(path, "sla", "report", "--month", "11/2026")
    assert bad.exit_code == 1 and bad.output == "opsplan: expected a month YYYY-MM, got '11/2026'\n"


def test_acknowledgement_and_resolution_histograms_are_exported_per_severity(db):
    from opsplan.incidents.histograms import histogram_samples

    plan = Plan()
    incidents = Incidents(plan, db, holiday_source=no_public_holidays)
    opened = at("2026-11-02 10:00")
    for ack in (2, 10, 45):  # minutes
        iid = incidents.open("critical", Text(ko="중단", en="down"), by="opsplan", now=opened)
        incidents.acknowledge(iid, by="kim", now=opened + ack * MIN)
    samples = {(s.name, s.labels): s.value for s in histogram_samples(db, list(plan.incidents.severities))}

    def value(name, **labels):
        return samples[(name, tuple(sorted(labels.items())))]

    bucket = "opsplan_incident_ack_seconds_bucket"
    assert [value(bucket, severity="critical", le=le) for le in ("60", "300", "900", "1800", "3600", "+Inf")] == \
        [0, 1, 2, 2, 3, 3]
    assert value("opsplan_incident_ack_seconds_count", severity="critical") == 3
    assert value("opsplan_incident_ack_seconds_sum", severity="critical") == (2 + 10 + 45) * MIN
    assert value("opsplan_incident_resolve_seconds_count", severity="critical") == 0  # none resolved yet
    assert value(bucket, severity="major", le="+Inf") == 0


def test_serve_exports_the_histograms_and_recounts_them_within_a_minute(db):
    from test_incident_stage import Serve, api

    serve = Serve(db, at("2026-12-01 03:00"))
    serve.hold(90, api(up=False))
    [incident] = serve.incidents.list()
    assert serve.metric("opsplan_incident_ack_seconds_count", severity="critical") == 0
    serve.incidents.acknowledge(incident["id"], by="kim", now=serve.now)
    serve.hold(75, api(up=False))
    assert serve.metric("opsplan_incident_ack_seconds_count", severity="critical") == 1
    assert serve.metric("opsplan_incident_ack_seconds_bucket", severity="critical", le="300") == 1
