"""The alerts page (GET /alerts) and its forms through FastAPI's TestClient, on a real SQLite state
DB with the plan's rules firing: who sees the buttons, who may press them, what the press leaves
in the alert state and the audit log, and the Korean page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.queries import list_alerts
from opsplan.alerts.silences import load_silences
from opsplan.audit import entries
from opsplan.metrics import Cycle, sample
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry
from opsplan.store.state import StateDB
from opsplan.web.alerts_api import alerts_router
from opsplan.web.alerts_page import alerts_page_router
from opsplan.web.auth import bearer_auth
from opsplan.web.console.frame import Console
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users
from unit.test_korean_text import assert_korean
from unit.test_security_headers import InlineFinder

NOW = 1_800_000_000.0
PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    now = NOW - 120

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[TestClient, StateDB, AlertEngine]]:
    """Two minutes of MariaDB down (MariaDBDown firing) and a hot CPU (pending); three users."""
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    clock = Clock()
    plan = Plan(data_dir=tmp_path, language="ko")
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=lambda notice: None,
                         clock=clock, host="ai-server-01")
    while clock.now <= NOW:
        engine.on_cycle(Cycle(clock.now, [sample("opsplan_cpu_usage_ratio", 0.99), sample("opsplan_mariadb_up", 0.0)],
                              0.1))
        clock.now += 15
    users = Users(db, tmp_path, clock, FAST)
    for name, role in (("ops01", "operator"), ("view01", "viewer"), ("admin01", "admin")):
        users.add(name, role, PASSWORD, actor="root")
    web = build_identity_web(plan, db, clock, hasher=FAST)
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.include_router(identity_router(web))
    app.include_router(alerts_page_router(engine, Console(plan, web)))
    # The JSON API as serve mounts it: a console session may write through it too.
    app.include_router(alerts_router(engine, bearer_auth(plan.web, {}, db, clock,
                                                         session_check=web.require_role("operator"))))
    yield TestClient(app), db, engine
    db.close()


def log_in(client: TestClient, name: str) -> str:
    """Logs in; the CSRF token the alerts page carries for the session."""
    answer = client.post("/login", data={"name": name, "password": PASSWORD}, headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303
    found = CSRF.search(client.get("/alerts").text)
    assert found, "the page carries no CSRF token for a logged-in user"
    return found.group(1)


def firing(engine: AlertEngine) -> str:
    return next(a.fingerprint for a in engine.active() if a.alert == "MariaDBDown" and a.state == "firing")


def row(page: str, fingerprint: str) -> str:
    start = page.index(f'id="alert-{fingerprint}"')
    return page[start:page.index("</tr>", start)]


def test_the_page_needs_a_login_a_viewer_sees_alerts_without_buttons_and_an_operator_with(console):
    client, _, engine = console
    answer = client.get("/alerts?lang=en", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Falerts%3Flang%3Den"
    # After logging in the browser comes back to the page it asked for.
    back = client.post("/login", data={"name": "view01", "password": PASSWORD, "next": "/alerts?lang=en"},
                       headers=ORIGIN, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/alerts?lang=en"
    page = client.get("/alerts").text
    assert "MariaDBDown" in page and "CpuUsageHigh" in page and "대기" in page
    assert "/ack" not in page and "/silence" not in page and "조회자는" in page
    assert client.get("/alerts?lang=fr").status_code == 400
    client.cookies.clear()
    log_in(client, "ops01")
    page = client.get("/alerts").text
    assert f'action="/alerts/{firing(engine)}/ack"' in row(page, firing(engine))
    pending = next(a.fingerprint for a in engine.active() if a.state == "pending")
    assert "/ack" not in row(page, pending) and "/silence" in row(page, pending)  # only firing ones are acked


def test_an_operator_acknowledges_and_the_actor_is_the_logged_in_user(console):
    client, db, engine = console
    csrf = log_in(client, "ops01")
    fingerprint = firing(engine)
    answer = client.post(f"/alerts/{fingerprint}/ack", data={"csrf_token": csrf, "lang": "en"}, headers=ORIGIN,
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts?lang=en"
    # The page the button leads back to shows it, before the engine's next cycle.
    shown = row(client.get("/alerts?lang=en").text, fingerprint)
    assert "acknowledged by ops01" in shown and "/ack" not in shown
    stored = next(a for a in list_alerts(db, NOW) if a["fingerprint"] == fingerprint)
    assert stored["acknowledged"]["by"] == "ops01"
    last = entries(db)[0]
    assert (last["actor"], last["action"], last["target"]) == ("ops01", "alert.ack", f"alert {fingerprint}")
    assert last["arguments"]["via"] == "console"


def test_an_operator_silences_one_alert_for_an_hour(console):
    client, db, engine = console
    csrf = log_in(client, "admin01")  # an admin may too
    fingerprint = firing(engine)
    answer = client.post(f"/alerts/{fingerprint}/silence", data={"csrf_token": csrf}, headers=ORIGIN,
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts"
    assert "⊘ 알림 중지" in row(client.get("/alerts").text, fingerprint)
    [silence] = load_silences(db, NOW)
    assert silence.author == "admin01" and silence.ends_at - silence.starts_at == 3600
    assert silence.matches(next(a for a in engine.active() if a.fingerprint == fingerprint).labels)
    assert not any(silence.matches(a.labels) for a in engine.active() if a.fingerprint != fingerprint)
    assert (entries(db)[0]["actor"], entries(db)[0]["action"]) == ("admin01", "silence.add")
    assert client.post("/alerts/0000/silence", data={"csrf_token": csrf}, headers=ORIGIN).status_code == 404


def test_a_viewer_sees_no_button_and_a_direct_post_is_refused(console):
    client, db, engine = console
    csrf = log_in(client, "view01")
    page = client.get("/alerts").text
    assert "/ack" not in page and "/silence" not in page and "조회자는 알림을 확인하거나 중지할 수 없습니다" in page
    fingerprint = firing(engine)
    for action in ("ack", "silence"):
        assert client.post(f"/alerts/{fingerprint}/{action}", data={"csrf_token": csrf},
                           headers=ORIGIN).status_code == 403
    assert not any(a["acknowledged"] for a in list_alerts(db, NOW)) and load_silences(db, NOW) == []


def test_a_form_without_a_session_or_its_csrf_token_is_refused(console):
    client, db, engine = console
    fingerprint = firing(engine)
    assert client.post(f"/alerts/{fingerprint}/ack", data={"csrf_token": "x"}, headers=ORIGIN).status_code == 403
    csrf = log_in(client, "ops01")
    assert client.post(f"/alerts/{fingerprint}/ack", data={}, headers=ORIGIN).status_code == 403
    assert client.post(f"/alerts/{fingerprint}/ack", data={"csrf_token": "guess"}, headers=ORIGIN).status_code == 403
    evil = client.post(f"/alerts/{fingerprint}/ack", data={"csrf_token": csrf}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    assert not any(a["acknowledged"] for a in list_alerts(db, NOW))


@pytest.mark.parametrize("who", [None, "ops01", "view01"])
def test_the_korean_page_reads_as_korean_and_needs_nothing_the_policy_blocks(console, who):
    client, _, _ = console
    if who:
        log_in(client, who)
    answer = client.get("/alerts?lang=ko")
    assert answer.headers["cache-control"] == "no-store"
    finder = InlineFinder()
    finder.feed(answer.text)
    assert finder.blocked == []
    text = re.sub(r"<[^>]+>", " ", answer.text)
    # The host (the subject of host-wide alerts) is a name, not an English word.
    assert_korean("alerts page", text.replace("ai-server-01", ""))


def test_without_the_identity_stage_the_page_lists_alerts_and_refuses_every_form(console):
    _, db, engine = console  # serve's monitoring-only mode builds no identity stage
    app = FastAPI()
    app.include_router(alerts_page_router(engine, Console(engine.plan, None)))
    client = TestClient(app)
    page = client.get("/alerts?lang=en").text
    assert "MariaDBDown" in page and "<form" not in page and "/login" not in page  # no login to offer
    assert client.post(f"/alerts/{firing(engine)}/ack", headers=ORIGIN).status_code == 403
    assert not any(a["acknowledged"] for a in list_alerts(db, NOW))


def test_the_json_api_called_with_a_session_acts_as_the_logged_in_user_whatever_name_it_is_given(console):
    client, db, engine = console
    csrf = log_in(client, "ops01")
    fingerprint = firing(engine)
    headers = {**ORIGIN, "X-CSRF-Token": csrf}
    answer = client.post(f"/api/v1/alerts/{fingerprint}/ack", json={"by": "somebody-else"}, headers=headers)
    assert answer.status_code == 200 and answer.json()["acknowledged"]["by"] == "ops01"
    silence = client.post("/api/v1/silences", json={"matchers": [{"name": "alertname", "value": "CpuUsageHigh"}],
                                                     "author": "somebody-else", "duration": "1h"}, headers=headers)
    assert silence.status_code == 201 and silence.json()["author"] == "ops01"
    assert client.delete(f"/api/v1/silences/{silence.json()['id']}", headers=headers).status_code == 200
    logged = [(e["actor"], e["action"]) for e in entries(db)[:3]]
    assert logged == [("ops01", "silence.expire"), ("ops01", "silence.add"), ("ops01", "alert.ack")]


def test_the_table_refreshes_itself_as_a_fragment_whose_buttons_still_work(console):
    """The alerts page swaps its table in every interval (htmx, no inline script), without a meta
    refresh that would reload the whole page under an operator's hands; the fragment is the table
    alone, for the same reader, and its forms post as the page's do."""
    client, db, engine = console
    assert client.get("/alerts/table", follow_redirects=False).status_code == 303  # a session first, as the page
    csrf = log_in(client, "ops01")
    page = client.get("/alerts?lang=en").text
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page
    assert 'hx-get="/alerts/table?lang=en" hx-trigger="every 15s" hx-swap="outerHTML"' in page
    assert 'http-equiv="refresh"' not in page

    fingerprint = firing(engine)
    fragment = client.get("/alerts/table?lang=en")
    assert fragment.status_code == 200 and fragment.headers["cache-control"] == "no-store"
    html = fragment.text
    assert html.lstrip().startswith("<div id=\"alerts-live\"") and "<html" not in html and "/logout" not in html
    assert html.count('id="alerts-live"') == 1 and 'hx-get="/alerts/table?lang=en"' in html  # swaps in again
    finder = InlineFinder()
    finder.feed(html)
    assert finder.blocked == []
    form = row(html, fingerprint)
    assert f'action="/alerts/{fingerprint}/ack"' in form and f'value="{csrf}"' in form and 'value="en"' in form
    # An acknowledgement made elsewhere (the JSON API) shows in the next refresh, before the engine's cycle.
    client.post(f"/api/v1/alerts/{fingerprint}/ack", json={"by": "x"}, headers={**ORIGIN, "X-CSRF-Token": csrf})
    refreshed = row(client.get("/alerts/table?lang=en").text, fingerprint)
    assert "acknowledged by ops01" in refreshed and "/ack" not in refreshed
    # The silence button of a refreshed table posts as the page's does.
    posted = client.post(f"/alerts/{fingerprint}/silence", data={"csrf_token": csrf, "lang": "en"}, headers=ORIGIN,
                         follow_redirects=False)
    assert posted.status_code == 303 and "⊘ silenced" in row(client.get("/alerts/table?lang=en").text, fingerprint)

    client.cookies.clear()
    log_in(client, "view01")
    viewer = client.get("/alerts/table?lang=ko").text
    assert "MariaDBDown" in viewer and "<form" not in viewer


def test_a_refresh_after_the_session_ended_sends_the_tab_to_the_login_form_not_into_the_table(console):
    """Without a session a fragment would answer the login form, and htmx would swap it into the table:
    htmx's refresh gets a 401 with `HX-Redirect` to the login form, back to the page afterwards."""
    client, _, _ = console
    htmx = {"HX-Request": "true", "HX-Current-URL": "http://testserver/alerts?lang=en"}
    answer = client.get("/alerts/table?lang=en", headers=htmx, follow_redirects=False)
    assert answer.status_code == 401 and answer.text == ""
    assert answer.headers["hx-redirect"] == "/login?next=%2Falerts%3Flang%3Den"
    # A page of another site named as the current URL still leads back to this server only.
    elsewhere = client.get("/alerts/table", headers={**htmx, "HX-Current-URL": "http://evil.example//x"},
                           follow_redirects=False)
    assert elsewhere.headers["hx-redirect"] == "/login?next=%2F%2Fx"
    # A browser asking for the fragment itself (no htmx) is redirected as before.
    assert client.get("/alerts/table", follow_redirects=False).status_code == 303
    back = client.post("/login", data={"name": "ops01", "password": PASSWORD, "next": "//x"}, headers=ORIGIN,
                       follow_redirects=False)
    assert back.headers["location"] == "/"  # the login form's `next` keeps to this server's paths
