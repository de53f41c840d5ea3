"""What fuzzing the API found (issue 9, item 7), each pinned: the write routes of the app `serve`
builds (every stage composed on a real state DB), driven through FastAPI's TestClient."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.errors import AlertError
from opsplan.alerts.external import parse_payload
from opsplan.alerts.silences import Matcher, add_silence
from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan
from opsplan.serve.loop import CollectionLoop
from opsplan.stages.all import compose, metric_registry
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from opsplan.web.alertmanager_api import WebhookPayload
from opsplan.web.alerts_api import AckBody, SilenceBody
from opsplan.web.app import ServeState, create_app

TOKEN = "t0ken-for-tests-only"
AUTH = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, AlertEngine]]:
    plan = Plan.model_validate({"data_dir": str(tmp_path / "data"), "backup": {"directory": str(tmp_path / "b")}})
    (tmp_path / "data").mkdir()
    parts = compose(plan, {"OPSPLAN_API_TOKEN": TOKEN})
    store = MetricsStore(tmp_path / "data" / "metrics")
    lock = threading.Lock()
    latest = LatestSamples(metric_registry())
    loop = CollectionLoop(CollectionRunner([], deadline=1.0), store, latest, interval=15, store_lock=lock,
                          after_cycle=parts.on_cycle)
    loop.run_cycle()
    engine = parts.context.get(AlertEngine)
    assert engine is not None
    app = create_app(ServeState(plan=plan, latest=latest, loop=loop, store=store, store_lock=lock,
                                state_db=parts.context.state_db, alerts=engine), routers=parts.routers)
    try:
        yield TestClient(app, base_url="http://127.0.0.1:8080", raise_server_exceptions=False), engine
    finally:
        parts.stop()
        store.close()


def one_line_422(response: Any) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    reason = body.get("detail") or body.get("error")
    assert isinstance(reason, str) and reason and "\n" not in reason and "Traceback" not in reason
    return reason


MATCHERS = '"matchers": [{"name": "alertname", "value": "DiskUsageHigh"}], "author": "kim"'


@pytest.mark.parametrize("rest, says", [
    ('"ends_at": NaN', "ends_at"),                  # was a 500: SQLite stores NaN as NULL (NOT NULL failed)
    ('"ends_at": Infinity', "ends_at"),             # was 201, listed with "ends_at": null
    ('"ends_at": 1e308', "ends_at"),                # was 201
    ('"starts_at": -1e308, "duration": "1h"', "starts_at"),  # was 201
    ('"duration": "1000000000w"', "duration"),      # was 201, ends in the year 19 million (durations <= 10 years)
])
def test_a_silence_outside_representable_time_is_a_one_line_422(served, rest: str, says: str):
    client, _ = served
    response = client.post("/api/v1/silences", content="{" + MATCHERS + ", " + rest + "}", headers=AUTH)
    assert says in one_line_422(response)
    assert client.get("/api/v1/silences", params={"all": True}).json()["silences"] == []


def test_the_domain_refuses_such_times_too(tmp_path: Path):
    # The CLI's `alerts silence` reaches add_silence without the API's body model.
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        for starts, ends in ((0.0, float("nan")), (0.0, float("inf")), (-1.0, 2e9), (0.0, 1e12)):
            with pytest.raises(AlertError, match="expected a time between 1970 and the year 5138"):
                add_silence(db, [Matcher("alertname", "=", "X")], starts_at=starts, ends_at=ends, author="kim",
                            comment="", now=1.8e9)
    finally:
        db.close()


def test_an_alertmanager_time_past_year_9999_in_kst_is_a_one_line_422(served, caplog):
    """Was: 200, then the notice for it could not be rendered in local time (OverflowError logged with a
    traceback by the notice fan-out) and no notification went out."""
    client, engine = served
    caplog.set_level(logging.ERROR)
    alert = {"status": "firing", "labels": {"alertname": "GpuHot", "severity": "critical"},
             "startsAt": "9999-12-31T23:59:59Z"}
    response = client.post("/api/v1/alertmanager", headers=AUTH,
                           content=json.dumps({"version": "4", "status": "firing", "alerts": [alert]}))
    assert "alerts[0].startsAt" in one_line_422(response)
    assert [a.alert for a in engine.active() if a.source == "prometheus"] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    with pytest.raises(AlertError, match="startsAt"):
        parse_payload({"version": "4", "alerts": [{**alert, "startsAt": "0001-01-02T00:00:00Z"}]})
    # Go's zero time is still "unset", as Alertmanager sends it for a firing alert's endsAt.
    assert parse_payload({"version": "4", "alerts": [{**alert, "startsAt": "2026-11-27T05:00:00Z",
                                                      "endsAt": "0001-01-01T00:00:00Z"}]})[0].ends_at is None


def test_the_openapi_schema_documents_the_write_bodies_and_their_examples_are_accepted(served):
    client, _ = served
    schema = client.get("/api/v1/openapi.json").json()
    assert "#/$defs/" not in json.dumps(schema)  # every body schema is self-contained
    bodies = {}
    for path, method, model in (("/api/v1/silences", "post", SilenceBody),
                                ("/api/v1/alerts/{fingerprint}/ack", "post", AckBody),
                                ("/api/v1/alertmanager", "post", WebhookPayload)):
        body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert set(body["properties"]) == {f.alias or name for name, f in model.model_fields.items()}, path
        bodies[path] = body
    silence = bodies["/api/v1/silences"]
    assert silence["properties"]["matchers"]["items"]["properties"]["name"]["pattern"]
    assert silence["properties"]["ends_at"]["anyOf"][0]["maximum"] == 1e11
    # The documented examples are what the API accepts (schemathesis sends them first).
    created = client.post("/api/v1/silences", headers=AUTH, content=json.dumps(silence["examples"][0]))
    assert created.status_code == 201, created.text
    webhook = bodies["/api/v1/alertmanager"]["examples"][0]
    assert client.post("/api/v1/alertmanager", headers=AUTH, content=json.dumps(webhook)).json()["alerts"] == 1
    fingerprint = [a for g in client.get("/api/v1/alerts").json()["groups"] for a in g["alerts"]][0]["fingerprint"]
    ack = bodies["/api/v1/alerts/{fingerprint}/ack"]["examples"][0]
    acked = client.post(f"/api/v1/alerts/{fingerprint}/ack", headers=AUTH, content=json.dumps(ack))
    assert acked.status_code == 200, acked.text


@pytest.mark.parametrize("path, body", [
    ("/api/v1/silences", "{not json"),                       # was 422: FastAPI parsed the body before the auth check
    ("/api/v1/alerts/abc/ack", "[" * 100_000),               # was 422 (json_invalid), as any body not JSON
    ("/api/v1/silences", '{"matchers": []}'),                # 401 before too (the route checks the shape)
    ("/api/v1/alerts/abc/ack", '{"by": "' + "x" * 300_000 + '"}'),  # 401 before too, after reading it all
    ("/api/v1/alertmanager", "{not json"),                   # 401 before too (it read its body itself)
])
def test_an_anonymous_write_is_refused_401_whatever_its_body(served, path: str, body: str):
    """Fuzzed without credentials, bodies that were not JSON were answered 422 by the ack and silence
    routes (FastAPI read and parsed a `Body()` before the auth dependency) instead of 401: a write
    without credentials must be refused as such. Now every write is refused before its body is read."""
    client, _ = served
    for headers in ({"content-type": "application/json"}, {"Authorization": "Bearer wrong"}):
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == 401, (path, headers, response.text[:200])
        assert response.json() == {"detail": "missing or wrong bearer token"}


def test_a_write_with_a_body_that_is_not_json_is_a_one_line_400(served):
    client, _ = served
    for path in ("/api/v1/silences", "/api/v1/alerts/abc/ack"):
        response = client.post(path, content="{not json", headers=AUTH)
        assert response.status_code == 400, response.text
        assert response.json()["detail"].startswith("body is not JSON: ")
        nested = client.post(path, content="[" * 100_000, headers=AUTH)
        assert nested.status_code == 400 and "nested too deeply" in nested.json()["detail"]
        big = client.post(path, content='{"by": "' + "x" * 300_000 + '"}', headers=AUTH)
        assert big.status_code == 413 and big.json()["detail"] == "body larger than 256 KiB"


def test_the_schema_links_what_a_write_needs_to_what_gives_it(served):
    """Without links the fuzzer's stateful phase never had a real fingerprint or silence id: 0 acks and
    0 expiries in 800 requests. Following the documented links by hand reaches both."""
    client, _ = served
    schema = client.get("/api/v1/openapi.json").json()
    created = schema["paths"]["/api/v1/silences"]["post"]["responses"]["201"]["links"]["Expire"]
    listed = schema["paths"]["/api/v1/alerts"]["get"]["responses"]["200"]["links"]["Acknowledge"]

    def target(link: dict[str, Any]) -> tuple[str, str]:
        path, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
        assert method in schema["paths"][path.replace("~1", "/").replace("~0", "~")]
        return path.replace("~1", "/").replace("~0", "~"), method

    def pointer(document: Any, expression: str) -> Any:
        for part in expression.removeprefix("$response.body#/").split("/"):
            document = document[int(part)] if isinstance(document, list) else document[part]
        return document

    silence = client.post("/api/v1/silences", headers=AUTH, content=json.dumps(
        schema["paths"]["/api/v1/silences"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        ["examples"][0]))
    path, method = target(created)
    assert method == "delete"
    expired = client.delete(path.format(silence_id=pointer(silence.json(), created["parameters"]["silence_id"])),
                            headers=AUTH)
    assert expired.status_code == 200 and expired.json()["state"] == "expired"

    client.post("/api/v1/alertmanager", headers=AUTH, content=json.dumps(
        {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "GpuHot"},
                                                          "startsAt": "2026-11-27T05:00:00Z"}]}))
    path, method = target(listed)
    fingerprint = pointer(client.get("/api/v1/alerts").json(), listed["parameters"]["fingerprint"])
    acked = client.post(path.format(fingerprint=fingerprint), headers=AUTH, content='{"by": "kim"}')
    assert method == "post" and acked.status_code == 200, acked.text
