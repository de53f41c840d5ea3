"""/api/v1/incidents... through FastAPI's TestClient over the app `serve` builds: the real app factory
(create_app) with the identity, console and incidents stages composed on a real state database, and
real user tokens. Reads are open; writes need a token or a console session, act as its user, are
audited, and a refused step is one line (404 / 409 / 422) in the language asked for."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from test_korean_text import english_words

from opsplan.audit import entries
from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics.exposition import LatestSamples
from opsplan.serve.loop import CollectionLoop
from opsplan.stages import console, identity, incidents
from opsplan.stages.all import compose, load_plan, metric_registry
from opsplan.store import MetricsStore
from opsplan.web.app import ServeState, create_app
from opsplan.web.console.frame import Console
from opsplan.web.identity import tokens
from opsplan.web.identity.users import Users
from state_engines import STATE_URL_ENV
from yaml_writer import write_plan

BASE = "http://127.0.0.1:8080"
SHARED = "shared-t0ken-for-tests-only"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"
# Stage 1's first task must be checked before stage 2 (incidents.follow_up.required_tasks).
PLAN = {"incidents": {"follow_up": {"required_tasks": [[1]]}}}


class Served:
    def __init__(self, client: TestClient, db: Any, token: str, viewer_token: str):
        self.client, self.db, self.token, self.viewer_token = client, db, token, viewer_token
        self.auth = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: Any = None, **params: str) -> Any:
        return self.client.post(f"/api/v1/incidents{path}", json=body, headers=self.auth, params=params)

    def ok(self, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        answer = self.post(path, body)
        assert answer.status_code == status, answer.text
        return dict(answer.json())

    def audit(self) -> list[tuple[str, str, str]]:
        """(actor, action, via) of the incident entries of the audit log, oldest first."""
        found = reversed(entries(self.db, limit=None))
        return [(e["actor"], e["action"], e["arguments"].get("via", "")) for e in found
                if e["action"].startswith("incident.")]


def serve(tmp_path: Path, overrides: dict[str, Any]) -> Iterator[Served]:
    plan = load_plan(write_plan(tmp_path, overrides))
    environ = {"OPSPLAN_API_TOKEN": SHARED, STATE_URL_ENV: os.environ.get(STATE_URL_ENV, "")}
    composed = compose(plan, environ, stages=(identity.STAGE, console.STAGE, incidents.STAGE))
    db = composed.context.state_db
    users = Users(db, tmp_path, time.time, FAST)
    users.add("oper01", "operator", PASSWORD, actor="root")
    users.add("view01", "viewer", PASSWORD, actor="root")
    made = {}
    with db.session() as session:
        for user in users.all():
            made[user.name] = tokens.create(session, user.id, "script", "write", time.time(), None)[1]
    latest = LatestSamples(metric_registry())
    lock = threading.Lock()
    with MetricsStore(tmp_path / "metrics") as store:
        loop = CollectionLoop(CollectionRunner([], deadline=1.0), store, latest, interval=15, store_lock=lock)
        app = create_app(ServeState(plan=plan, latest=latest, loop=loop, store=store, store_lock=lock, state_db=db,
                                    console=composed.context.get(Console)), routers=composed.routers)
        with TestClient(app, base_url=BASE) as client:
            yield Served(client, db, made["oper01"], made["view01"])
    composed.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, {**PLAN, "language": "en"})


@pytest.fixture
def served_on_engines(tmp_path: Path, engine_state_url: str) -> Iterator[Served]:
    """The same, its state database on SQLite, PostgreSQL and MariaDB (named by state_db_url_env)."""
    yield from serve(tmp_path, {**PLAN, "language": "en", "state_db_url_env": STATE_URL_ENV})


def one_line(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.strip() == detail
    return str(detail)


def test_the_round_trip_over_http_as_the_tokens_user(served_on_engines):
    served = served_on_engines
    s = served
    opened = s.ok("", {"severity": "critical", "title": "customer data in a public log", "by": "mallory"}, 201)
    iid = opened["id"]
    assert opened["status"] == "triggered" and opened["opened_by"] == "oper01"  # never the `by` given
    assert opened["ack_due"] > opened["opened_at"]
    listed = s.client.get("/api/v1/incidents").json()
    assert [i["id"] for i in listed["incidents"]] == [iid]
    assert s.ok(f"/{iid}/ack")["acknowledged_by"] == "oper01"
    assert s.ok(f"/{iid}/stage", {"stage": 1})["stage_name"]["en"] == "Initial response"
    # stage 2 waits for stage 1's required task
    refused = one_line(s.post(f"/{iid}/stage", {"stage": 2}), 409)
    assert "1.1" in refused or "task 1" in refused, refused
    checked = s.ok(f"/{iid}/task", {"stage": 1, "task": "1", "note": "log bucket found public",
                                    "evidence": "https://wiki.example/evidence/1"})
    first = checked["checklist"][0]
    assert first["done"]["by"] == "oper01" and first["done"]["evidence"] == "https://wiki.example/evidence/1"
    s.ok(f"/{iid}/note", {"text": "bucket made private"})
    s.ok(f"/{iid}/stage", {"stage": 2})
    s.ok(f"/{iid}/fields", {"root_cause": "a public ACL on the log bucket", "fix": "ACL removed, keys rotated",
                            "services": "api-server"})
    s.ok(f"/{iid}/stage", {"stage": 3})
    added = s.ok(f"/{iid}/actions", {"text": "scan bucket ACLs daily", "owner": "lee", "due": "2099-12-31"})
    assert added["number"] == 1 and added["actions"][0]["owner"] == "lee" and not added["actions"][0]["overdue"]
    resolved = s.ok(f"/{iid}/resolve", {"note": "no more exposure"})
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "oper01"
    # a critical incident closes with its final postmortem only
    assert "postmortem" in one_line(s.post(f"/{iid}/close"), 409)
    draft = s.client.get(f"/api/v1/incidents/{iid}/postmortem", params={"lang": "en"})
    assert draft.status_code == 200 and draft.headers["content-type"].startswith("text/markdown")
    assert "a public ACL on the log bucket" in draft.text and "postmortem (draft)" in draft.text
    korean = s.client.get(f"/api/v1/incidents/{iid}/postmortem", params={"lang": "ko", "format": "html"})
    assert korean.status_code == 200 and korean.headers["content-type"].startswith("text/html")
    assert '<html lang="ko">' in korean.text and "원인" in korean.text and "사후 분석 보고서 (초안)" in korean.text
    final = s.ok(f"/{iid}/postmortem")
    assert final["postmortem"] == {"required": True, "final": True, "final_by": "oper01",
                                   "final_at": final["postmortem"]["final_at"]}
    assert s.ok(f"/{iid}/actions/1/done", {"note": "cron added"})["actions"][0]["done_by"] == "oper01"
    closed = s.ok(f"/{iid}/close")
    assert closed["status"] == "closed" and closed["closed_by"] == "oper01"
    assert s.client.get("/api/v1/incidents").json()["count"] == 0
    assert [i["id"] for i in s.client.get("/api/v1/incidents", params={"status": "all"}).json()["incidents"]] == [iid]
    shown = s.client.get(f"/api/v1/incidents/{iid}").json()
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds[:3] == ["opened", "acknowledged", "stage"] and kinds[-1] == "closed"
    in_korean = s.client.get(f"/api/v1/incidents/{iid}", params={"lang": "ko"}).json()["timeline"]
    assert [e["kind"] for e in in_korean if not e["text"] or e["text"] == e["kind"]] == []  # each in words
    assert next(e for e in shown["timeline"] if e["kind"] == "postmortem_final")["data"] == {}  # facts not repeated
    audited = s.audit()
    assert {via for _, _, via in audited} == {"api"} and {who for who, _, _ in audited} == {"oper01"}
    assert [a for _, a, _ in audited][:3] == ["incident.open", "incident.ack", "incident.stage"]
    assert "incident.close" in [a for _, a, _ in audited]
    figures = s.client.get("/api/v1/incidents/figures").json()
    assert figures["by_severity"]["critical"]["incidents"] == 1
    assert figures["by_severity"]["critical"]["mtta"]["count"] == 1
    sla = s.client.get("/api/v1/sla").json()
    assert sla["target"] > 0 and [x["service"] for x in sla["services"]]


def test_an_anonymous_write_is_refused_before_its_body_and_changes_nothing(served):
    s = served
    iid = s.ok("", {"severity": "minor", "title": "slow page"}, 201)["id"]
    before = s.client.get(f"/api/v1/incidents/{iid}").json()
    for path, body in ((f"/{iid}/ack", None), (f"/{iid}/note", {"text": "x"}), ("", {"severity": "critical"}),
                       (f"/{iid}/resolve", "{not json")):
        answer = s.client.post(f"/api/v1/incidents{path}", content=json.dumps(body) if body else b"{not json")
        assert answer.status_code == 401, (path, answer.text)
    wrong = s.client.post(f"/api/v1/incidents/{iid}/ack", headers={"Authorization": "Bearer opsp_not-a-token"})
    assert wrong.status_code == 401
    viewer = s.client.post(f"/api/v1/incidents/{iid}/ack", headers={"Authorization": f"Bearer {s.viewer_token}"})
    assert viewer.status_code == 403
    assert s.client.get(f"/api/v1/incidents/{iid}").json() == before
    assert s.client.get("/api/v1/incidents").json()["count"] == 1
    assert [a for _, a, _ in s.audit()] == ["incident.open"]


def test_the_shared_token_acts_as_the_name_given(served):
    s = served
    answer = s.client.post("/api/v1/incidents", json={"severity": "major", "title": "login fails", "by": "kim"},
                           headers={"Authorization": f"Bearer {SHARED}"})
    assert answer.status_code == 201 and answer.json()["opened_by"] == "kim"
    nameless = s.client.post(f"/api/v1/incidents/{answer.json()['id']}/ack",
                             headers={"Authorization": f"Bearer {SHARED}"})
    assert nameless.status_code == 200 and nameless.json()["acknowledged_by"] == "api-token"


def test_bad_input_and_refused_steps_are_one_line(served):
    s = served
    unknown = one_line(s.post("", {"severity": "catastrophic", "title": "x"}), 422)
    assert "catastrophic" in unknown and "critical, major, minor" in unknown
    iid = s.ok("", {"severity": "major", "title": "login fails"}, 201)["id"]
    assert "stage 1" in one_line(s.post(f"/{iid}/task", {"stage": 1, "task": "dance"}), 422)
    assert "9" in one_line(s.post(f"/{iid}/stage", {"stage": 9}), 422)
    assert one_line(s.post("/999/ack"), 404) == "there is no incident 999"
    assert one_line(s.client.get("/api/v1/incidents/999"), 404) == "there is no incident 999"
    assert one_line(s.post("/abc/ack"), 404) == "there is no incident abc"
    assert one_line(s.post(f"/{iid}/ack", lang="fr"), 422) == "lang: expected ko or en"
    assert "NUL" in one_line(s.post(f"/{iid}/note", {"text": "a\x00b"}), 422)
    assert "field" in one_line(s.post(f"/{iid}/note", {"text": "x", "field": 1}), 422)
    assert one_line(s.post(f"/{iid}/note"), 422).startswith("body")
    assert "2026-13-45" in one_line(s.post(f"/{iid}/actions", {"text": "a", "owner": "lee", "due": "2026-13-45"}), 422)
    assert "forever" in one_line(s.post(f"/{iid}/snooze", {"duration": "forever"}), 422)
    assert "is not acknowledged" in one_line(s.post(f"/{iid}/snooze", {"duration": "2h"}), 409)
    s.ok(f"/{iid}/ack")
    assert "already" in one_line(s.post(f"/{iid}/ack"), 409)
    assert "resolve" in one_line(s.post(f"/{iid}/close"), 409)
    assert "into itself" in one_line(s.post(f"/{iid}/merge", {"into": iid}), 422)
    assert one_line(s.post(f"/{iid}/actions/3/done"), 404) == f"incident {iid} has no action 3"
    assert "'sev9'" in one_line(s.client.get("/api/v1/incidents", params={"severity": "sev9"}), 400)
    # nothing of it reached the timeline but the opening and the acknowledgement
    kinds = [e["kind"] for e in s.client.get(f"/api/v1/incidents/{iid}").json()["timeline"]]
    assert kinds == ["opened", "acknowledged"]


def test_refused_steps_name_the_apis_routes_not_the_cli(served):
    """The API's `detail` says what to call (a route, a body field), never an `opsplan incident ...`
    command or a `--flag`, nor the console page's buttons."""
    s = served
    iid = s.ok("", {"severity": "critical", "title": "API down"}, 201)["id"]
    said = {lang: [one_line(s.post(f"/{iid}/close", lang=lang), 409)] for lang in ("ko", "en")}
    assert f"POST /api/v1/incidents/{iid}/resolve" in said["en"][0]
    s.ok(f"/{iid}/resolve")
    for lang in ("ko", "en"):
        said[lang] += [one_line(s.post(f"/{iid}/close", lang=lang), 409),
                       one_line(s.post(f"/{iid}/postmortem", lang=lang), 422)]
    assert f"POST /api/v1/incidents/{iid}/postmortem" in said["en"][1]
    assert "root_cause" in said["en"][2] and f"/api/v1/incidents/{iid}/fields" in said["en"][2]
    shown = " ".join(said["ko"] + said["en"])
    assert "opsplan incident" not in shown and "--" not in shown and "box" not in shown, shown
    assert s.client.get(f"/api/v1/incidents/{iid}").json()["status"] == "resolved"


def test_korean_detail_on_request_and_from_a_korean_plan(served, tmp_path):
    s = served
    iid = s.ok("", {"severity": "minor", "title": "느린 페이지"}, 201)["id"]
    asked = one_line(s.post("/999/ack", lang="ko"), 404)
    assert "999" in asked and not english_words(asked), asked
    unknown = one_line(s.post(f"/{iid}/severity", {"severity": "huge"}, lang="ko"), 422)
    assert not english_words(unknown.replace("critical", "").replace("major", "").replace("minor", "")
                             .replace("huge", "")), unknown
    shown = s.client.get(f"/api/v1/incidents/{iid}", params={"lang": "ko"}).json()
    assert not english_words(shown["timeline"][0]["text"]), shown["timeline"][0]["text"]


def test_a_korean_plan_answers_in_korean(tmp_path):
    for s in serve(tmp_path, PLAN):  # the seed's language: ko
        iid = s.ok("", {"severity": "major", "title": "로그인 실패"}, 201)["id"]
        s.ok(f"/{iid}/ack")
        refused = one_line(s.post(f"/{iid}/ack"), 409)
        assert "이미 확인" in refused, refused
        assert "already" in one_line(s.post(f"/{iid}/ack", lang="en"), 409)


def test_the_list_filters_by_severity_before_its_limit(served_on_engines):
    served = served_on_engines
    s = served
    minor = s.ok("", {"severity": "minor", "title": "slow page"}, 201)["id"]
    majors = [s.ok("", {"severity": "major", "title": f"login fails {n}"}, 201)["id"] for n in range(2)]
    listed = s.client.get("/api/v1/incidents", params={"severity": "minor", "limit": 1}).json()
    assert [i["id"] for i in listed["incidents"]] == [minor]
    newest = s.client.get("/api/v1/incidents", params={"limit": 2}).json()
    assert [i["id"] for i in newest["incidents"]] == majors[::-1]


def test_a_bad_month_on_the_sla_and_figures_reads_is_one_line(served):
    """`?month=0000-00` (or 2026-13, or a word): 400 with one line saying what a month looks like,
    not FastAPI's list of validation errors with its regular expression."""
    for path in ("/api/v1/sla", "/api/v1/incidents/figures"):
        for month in ("0000-00", "2026-13", "november", "2026-1"):
            answer = served.client.get(path, params={"month": month})
            assert answer.status_code == 400, (path, month, answer.text)
            detail = answer.json()["detail"]
            assert isinstance(detail, str) and "\n" not in detail and "YYYY-MM" in detail and month in detail
        assert served.client.get(path, params={"month": "2026-11"}).status_code == 200
