"""The alerts router through FastAPI's TestClient: reads open, writes behind a bearer token."""

from __future__ import annotations

import os

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsplan.alerts.alerting import build_alerting
from opsplan.metrics import Cycle, sample
from opsplan.plan.models import Plan
from opsplan.stages.all import metric_registry
from opsplan.store.state import StateDB
from opsplan.web.alerts_api import alerts_router
from opsplan.web.auth import bearer_auth

TOKEN = "t0ken-for-tests-only"


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path):
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    clock = Clock()
    notices = []

    def make(plan=None, environ=None):
        plan = plan or Plan()
        alerting = build_alerting(plan, db, metric_registry(), notice_sink=notices.append, clock=clock, host="h")
        app = FastAPI()
        auth = bearer_auth(plan.web, {"OPSPLAN_API_TOKEN": TOKEN} if environ is None else environ)
        app.include_router(alerts_router(alerting.engine, auth))
        return alerting, TestClient(app)

    yield make, clock, notices
    db.close()


def fire_disk(alerting, clock):
    for _ in range(23):
        alerting.on_cycle(Cycle(clock.now, [sample("opsplan_disk_usage_ratio", 0.95, mountpoint="/")], 0.1))
        clock.now += 15


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_list_filters_and_groups(setup):
    make, clock, _ = setup
    alerting, client = make()
    fire_disk(alerting, clock)
    body = client.get("/api/v1/alerts").json()
    assert body["count"] == 2
    [group] = body["groups"]
    assert group["subject"] == "mountpoint /"
    assert [(a["severity"], a["inhibited"]) for a in group["alerts"]] == [("critical", False), ("warning", True)]
    only = client.get("/api/v1/alerts", params={"severity": "warning"}).json()
    assert [a["severity"] for g in only["groups"] for a in g["alerts"]] == ["warning"]
    bad = client.get("/api/v1/alerts", params={"state": "burning"})
    assert bad.status_code == 400 and "expected one of pending, firing, resolved" in bad.json()["detail"]


def test_writes_need_the_token_reads_do_not(setup):
    make, clock, _ = setup
    alerting, client = make()
    fire_disk(alerting, clock)
    fp = client.get("/api/v1/alerts").json()["groups"][0]["alerts"][0]["fingerprint"]
    assert client.post(f"/api/v1/alerts/{fp}/ack", json={"by": "kim"}).status_code == 401
    wrong = client.post(f"/api/v1/alerts/{fp}/ack", json={"by": "kim"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and TOKEN not in wrong.text
    ok = client.post(f"/api/v1/alerts/{fp}/ack", json={"by": "kim", "comment": "on it"}, headers=AUTH)
    assert ok.status_code == 200 and ok.json()["acknowledged"]["by"] == "kim"
    assert client.post("/api/v1/alerts/ffff/ack", json={"by": "kim"}, headers=AUTH).status_code == 404
    bad = client.post(f"/api/v1/alerts/{fp}/ack", json={"who": "kim"}, headers=AUTH)
    assert bad.status_code == 422 and "\n" not in bad.json()["detail"]


def test_no_token_configured_means_the_write_api_is_off(setup):
    make, _, _ = setup
    _, client = make(environ={})
    response = client.post("/api/v1/silences", json={}, headers=AUTH)
    assert response.status_code == 403
    assert response.json()["detail"] == "write API disabled: set OPSPLAN_API_TOKEN"
    assert client.get("/api/v1/silences").status_code == 200


def test_a_token_file_must_be_private(setup, tmp_path):
    make, _, _ = setup
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    os.chmod(token_file, 0o644)
    plan = Plan.model_validate({"web": {"api_token_env": None, "api_token_file": str(token_file)}})
    _, client = make(plan, environ={})
    refused = client.delete("/api/v1/silences/abc", headers=AUTH)
    assert refused.status_code == 403 and "chmod 600" in refused.json()["detail"]
    os.chmod(token_file, 0o600)
    assert client.delete("/api/v1/silences/abc", headers=AUTH).status_code == 404


def test_silence_through_the_api_suppresses_then_delete_ends_it(setup):
    make, clock, notices = setup
    alerting, client = make()
    created = client.post("/api/v1/silences", headers=AUTH, json={
        "matchers": [{"name": "mountpoint", "op": "=", "value": "/"}], "duration": "1h",
        "author": "lee", "comment": "resizing"})
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["state"] == "active" and silence["ends_at"] == clock.now + 3600
    fire_disk(alerting, clock)
    assert notices == []
    listed = client.get("/api/v1/silences").json()["silences"]
    assert [s["id"] for s in listed] == [silence["id"]]
    assert client.delete(f"/api/v1/silences/{silence['id']}", headers=AUTH).json()["state"] == "expired"
    fire_disk(alerting, clock)
    assert [(n.kind, n.severity) for n in notices] == [("firing", "critical")]
    assert client.get("/api/v1/silences").json()["silences"] == []


@pytest.mark.parametrize("body, detail", [
    ({"matchers": [], "duration": "1h", "author": "a"}, "matchers"),
    ({"matchers": [{"name": "x", "op": "=~", "value": "("}], "duration": "1h", "author": "a"}, "invalid regex"),
    ({"matchers": [{"name": "x", "value": "y"}], "duration": "soon", "author": "a"}, "invalid duration"),
    ({"matchers": [{"name": "x", "value": "y"}], "author": "a"}, "either duration"),
])
def test_a_bad_silence_is_one_line_and_stores_nothing(setup, body, detail):
    make, _, _ = setup
    _, client = make()
    response = client.post("/api/v1/silences", headers=AUTH, json=body)
    assert response.status_code == 422 and detail in response.json()["detail"]
    assert client.get("/api/v1/silences", params={"all": True}).json()["silences"] == []


def test_acks_and_silences_through_the_api_are_in_the_audit_log(setup):
    from opsplan import audit

    make, clock, _ = setup
    alerting, client = make()
    fire_disk(alerting, clock)
    fp = client.get("/api/v1/alerts").json()["groups"][0]["alerts"][0]["fingerprint"]
    assert client.post(f"/api/v1/alerts/{fp}/ack", json={"by": "kim", "comment": "on it"}, headers=AUTH).is_success
    refused = client.post(f"/api/v1/alerts/{fp}/ack", json={"by": "mallory"})
    assert refused.status_code == 401
    silence = client.post("/api/v1/silences", headers=AUTH, json={
        "matchers": [{"name": "mountpoint", "value": "/"}], "duration": "1h", "author": "lee", "comment": "resizing"})
    client.delete(f"/api/v1/silences/{silence.json()['id']}", headers=AUTH)
    db = alerting.engine.db
    logged = [(e["actor"], e["action"], e["target"]) for e in reversed(audit.entries(db))]
    assert logged == [("kim", "alert.ack", f"alert {fp}"), ("lee", "silence.add", f"silence {silence.json()['id']}"),
                      ("api-token", "silence.expire", f"silence {silence.json()['id']}")]
    assert audit.verify(db).ok
    assert TOKEN not in str(audit.entries(db))
