"""The web login path through FastAPI's TestClient on a real SQLite state DB: the cookie, the
CSRF token and Origin check on unsafe requests, roles, throttling, logout."""

from __future__ import annotations

import re

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from opsplan.plan.models import Plan
from opsplan.store.state import StateDB
from opsplan.web.identity.routes import COOKIE, build_identity_web, identity_router
from opsplan.web.identity.sessions import Active
from opsplan.web.identity.users import Users

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def console(tmp_path):
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    clock = Clock()
    plan = Plan(data_dir=tmp_path, language="en")
    users = Users(db, tmp_path, clock, FAST)
    users.add("admin1", "admin", PASSWORD, actor="root")
    users.add("op", "operator", PASSWORD, actor="root")
    users.add("view", "viewer", PASSWORD, actor="root")
    web = build_identity_web(plan, db, clock, hasher=FAST)
    app = FastAPI()
    app.state.identity_db = db
    app.include_router(identity_router(web))

    @app.get("/")
    def home(user: Active = Depends(web.require_user())) -> dict[str, str]:
        return {"user": user.user, "csrf": user.csrf_secret}

    @app.post("/ack")
    def ack(user: Active = Depends(web.require_role("operator"))) -> dict[str, str]:
        return {"acknowledged_by": user.user}

    yield TestClient(app), users, clock, tmp_path
    db.close()


def log_in(client: TestClient, name: str, password: str = PASSWORD, **extra: str):
    return client.post("/login", data={"name": name, "password": password, **extra}, headers=ORIGIN,
                       follow_redirects=False)


def test_login_sets_a_strict_http_only_cookie_and_the_session_reads_the_user(console):
    client, _, _, _ = console
    assert "Log in to opsplan" in client.get("/login").text
    assert "비밀번호" in client.get("/login?lang=ko").text
    assert client.get("/login?lang=fr").status_code == 400
    assert client.get("/").status_code == 401
    response = log_in(client, "op")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert client.get("/").json()["user"] == "op"


def test_a_wrong_password_says_the_same_for_a_name_that_does_not_exist(console):
    client, _, _, _ = console
    wrong, ghost = log_in(client, "op", "not the password"), log_in(client, "ghost")
    assert wrong.status_code == ghost.status_code == 401
    assert "Wrong user name or password." in wrong.text and "Wrong user name or password." in ghost.text
    assert COOKIE not in wrong.headers.get("set-cookie", "")


def test_unsafe_requests_need_the_csrf_token_the_origin_and_the_role(console):
    client, _, _, _ = console
    log_in(client, "op")
    csrf = client.get("/").json()["csrf"]
    assert client.post("/ack", headers=ORIGIN).status_code == 403  # no token
    assert client.post("/ack", headers={**ORIGIN, "X-CSRF-Token": "guess"}).status_code == 403
    evil = client.post("/ack", headers={"Origin": "http://evil.example", "X-CSRF-Token": csrf})
    assert evil.status_code == 403
    assert client.post("/ack", headers={"X-CSRF-Token": csrf}).status_code == 403  # no Origin at all
    ok = client.post("/ack", headers={**ORIGIN, "X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json() == {"acknowledged_by": "op"}
    # The hidden form field works as well as the header.
    form = client.post("/ack", data={"csrf_token": csrf}, headers=ORIGIN)
    assert form.status_code == 200
    # A viewer is refused even with a good token.
    client.cookies.clear()
    log_in(client, "view")
    viewer_csrf = client.get("/").json()["csrf"]
    assert client.post("/ack", headers={**ORIGIN, "X-CSRF-Token": viewer_csrf}).status_code == 403


def test_a_login_from_another_site_is_refused(console):
    client, _, _, _ = console
    response = client.post("/login", data={"name": "op", "password": PASSWORD},
                           headers={"Origin": "http://evil.example"}, follow_redirects=False)
    assert response.status_code == 403 and COOKIE not in response.headers.get("set-cookie", "")


def test_throttled_logins_say_so_with_retry_after(console):
    client, _, _, _ = console
    for _ in range(5):
        assert log_in(client, "op", "not the password").status_code == 401
    refused = log_in(client, "op")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many failed logins" in refused.text


def test_sessions_end_on_logout_password_change_and_idle(console):
    client, users, clock, data_dir = console
    log_in(client, "op")
    csrf = client.get("/").json()["csrf"]
    assert client.post("/logout", headers=ORIGIN, follow_redirects=False).status_code == 403  # no CSRF
    out = client.post("/logout", headers={**ORIGIN, "X-CSRF-Token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/").status_code == 401
    log_in(client, "op")
    assert client.get("/").status_code == 200
    users.set_password("op", "another long password", actor="admin1")
    assert client.get("/").status_code == 401
    log_in(client, "op", "another long password")
    clock.now += 31 * 60
    assert client.get("/").status_code == 401
    audit = (data_dir / "audit.log").read_text()
    assert '"action": "logout"' in audit and PASSWORD not in audit


def test_two_step_login_asks_for_the_code(console):
    client, users, clock, _ = console
    secret, _ = users.enable_totp("admin1", actor="root")
    first = log_in(client, "admin1")
    assert first.status_code == 401 and 'name="code"' in first.text
    assert COOKIE not in first.headers.get("set-cookie", "")
    done = log_in(client, "admin1", code=pyotp.TOTP(secret).at(clock.now))
    assert done.status_code == 303


def test_the_sessions_page_lists_and_ends_a_users_own_sessions(console):
    client, _, _, tmp_path = console
    other = TestClient(client.app)
    log_in(other, "op")
    log_in(client, "op")
    page = client.get("/sessions")
    assert page.status_code == 200 and page.text.count("/end") == 1  # the other one, not this one
    csrf = client.get("/").json()["csrf"]
    [other_id] = re.findall(r"/sessions/(\d+)/end", page.text)
    assert client.post(f"/sessions/{other_id}/end", headers=ORIGIN).status_code == 403  # no CSRF
    assert client.post(f"/sessions/{other_id}/end", data={"csrf_token": csrf}, headers=ORIGIN,
                       follow_redirects=False).status_code == 303
    assert other.get("/").status_code == 401 and client.get("/").status_code == 200
    # A viewer cannot end another user's session.
    viewer = TestClient(client.app)
    log_in(viewer, "view")
    viewer_csrf = viewer.get("/").json()["csrf"]
    mine = re.findall(r"/sessions/(\d+)/end", client.get("/sessions").text)
    log_in(other, "op")
    theirs = re.findall(r"/sessions/(\d+)/end", client.get("/sessions").text)
    assert theirs and not mine
    assert viewer.post(f"/sessions/{theirs[0]}/end", data={"csrf_token": viewer_csrf},
                       headers=ORIGIN).status_code == 404
    assert "session.end" in (tmp_path / "audit.log").read_text()
    assert "로그인 세션" in client.get("/sessions?lang=ko").text


def test_the_korean_login_and_sessions_pages_have_no_english_left(console):
    from test_korean_text import assert_korean

    client, _, _, _ = console
    pages = [client.get("/login?lang=ko").text]
    pages.append(log_in(client, "admin1", "not the password", lang="ko").text)
    log_in(client, "admin1")
    pages.append(client.get("/sessions?lang=ko").text)
    for number, html in enumerate(pages):
        # Data, not text: the user's name and the test client's address.
        visible = re.sub(r"<[^>]+>", "\n", html.split("<body>", 1)[1]).replace("testclient", "")
        assert_korean(f"page {number}", visible)


def test_the_write_api_takes_a_console_session_with_its_csrf_token(console, tmp_path):
    from opsplan.web.auth import bearer_auth

    client, users, clock, _ = console
    web = build_identity_web(Plan(data_dir=tmp_path, language="en"),
                             client.app.state.identity_db, clock, hasher=FAST)
    auth = bearer_auth(Plan().web, {}, client.app.state.identity_db, clock, session_check=web.require_role("operator"))

    @client.app.post("/api/write", dependencies=[Depends(auth)])
    def write(request: Request) -> dict[str, str]:
        return {"by": request.state.principal.user}

    assert client.post("/api/write", headers=ORIGIN).status_code == 401  # no session, no token
    log_in(client, "op")
    csrf = client.get("/").json()["csrf"]
    assert client.post("/api/write", headers=ORIGIN).status_code == 403  # a session without its CSRF token
    assert client.post("/api/write", headers={"X-CSRF-Token": csrf}).status_code == 403  # no Origin
    done = client.post("/api/write", headers={**ORIGIN, "X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json() == {"by": "op"}
    client.cookies.clear()
    log_in(client, "view")
    viewer_csrf = client.get("/").json()["csrf"]
    assert client.post("/api/write", headers={**ORIGIN, "X-CSRF-Token": viewer_csrf}).status_code == 403


def test_a_session_is_still_read_when_the_state_db_cannot_be_written(console):
    """A full disk (here: another writer holding SQLite's write lock past the busy timeout) must not
    turn the console into a 503: the session is read, its idle clock restarted once it can be."""
    import sqlite3

    client, _, clock, tmp_path = console
    assert log_in(client, "view").status_code == 303
    clock.now += 60  # past the touch interval: the next request would write last_seen_at
    blocker = sqlite3.connect(tmp_path / "state.db", timeout=1)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: every other writer fails
    try:
        answer = client.get("/")
    finally:
        blocker.rollback()
        blocker.close()
    assert answer.status_code == 200 and answer.json()["user"] == "view"
    assert client.get("/").json()["user"] == "view"  # and once writable, the touch goes through
