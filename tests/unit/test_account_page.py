"""The Account page (GET /account and its forms) through FastAPI's TestClient on a real SQLite state
DB, mounted as the console stage mounts it: the console language that the next page is in, a
password change that ends the user's other sessions, TOTP enrolment proved with a code pyotp
computes from the secret the page shows (and the login that then asks for one), CSRF and audit."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opsplan.audit import entries
from opsplan.cli.main import app as cli
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB
from opsplan.web.console.frame import Console
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.account import account_router
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users
from unit.test_korean_text import assert_korean
from unit.test_security_headers import InlineFinder

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a much longer new passphrase"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Console_:
    """The app, its state DB and clock; `browser()` is a new client (its own cookie jar)."""

    def __init__(self, app: FastAPI, db: StateDB, clock: Clock, users: Users):
        self.app, self.db, self.clock, self.users = app, db, clock, users

    def browser(self) -> TestClient:
        return TestClient(self.app)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console_]:
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    clock = Clock()
    plan = Plan(data_dir=tmp_path, language="en")
    users = Users(db, tmp_path, clock, FAST)
    users.add("kim", "operator", PASSWORD, actor="root")
    web = build_identity_web(plan, db, clock, hasher=FAST)
    frame = Console(plan, web)
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.include_router(identity_router(web))
    app.include_router(account_router(web, frame.page))
    yield Console_(app, db, clock, users)
    db.close()


def log_in(client: TestClient, password: str = PASSWORD, code: str | None = None) -> int:
    data = {"name": "kim", "password": password, **({"code": code} if code else {})}
    return client.post("/login", data=data, headers=ORIGIN, follow_redirects=False).status_code


def csrf(client: TestClient) -> str:
    found = CSRF.search(client.get("/account").text)
    assert found, "the account page carries no CSRF token"
    return found.group(1)


def post(client: TestClient, path: str, **form: str) -> object:
    return client.post(path, data={"csrf_token": csrf(client), **form}, headers=ORIGIN, follow_redirects=False)


def test_the_language_chosen_is_the_next_pages_language_without_lang(console):
    client = console.browser()
    assert log_in(client) == 303
    assert '<html lang="en">' in client.get("/account").text
    answer = post(client, "/account/language", language="ko")
    assert answer.status_code == 303 and answer.headers["location"] == "/account?done=language"
    page = client.get("/account?done=language")
    assert '<html lang="ko">' in page.text and "콘솔 언어를 저장했습니다." in page.text
    assert 'value="ko" checked' in page.text
    last = entries(console.db)[0]
    assert (last["actor"], last["action"], last["arguments"]) == ("kim", "user.language",
                                                                  {"user": "kim", "language": "ko"})
    # `default` follows the plan's language again; a made-up one is one line, and changes nothing.
    assert post(client, "/account/language", language="default").status_code == 303
    assert '<html lang="en">' in client.get("/account").text
    refused = post(client, "/account/language", language="fr")
    assert refused.status_code == 400 and "No language &#39;fr&#39;: use one of ko, en, default." in refused.text


def test_a_form_without_the_csrf_token_or_from_another_site_is_refused(console):
    client = console.browser()
    log_in(client)
    token = csrf(client)
    assert client.post("/account/language", data={"language": "ko"}, headers=ORIGIN).status_code == 403
    assert client.post("/account/language", data={"language": "ko", "csrf_token": "forged"},
                       headers=ORIGIN).status_code == 403
    assert client.post("/account/language", data={"language": "ko", "csrf_token": token},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert console.users.get("kim").language is None  # nothing changed
    anonymous = console.browser()
    assert anonymous.post("/account/password", data={"csrf_token": token}, headers=ORIGIN).status_code == 401
    gone = anonymous.get("/account", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/login?next=%2Faccount"


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(console):
    here, elsewhere = console.browser(), console.browser()
    assert log_in(here) == 303 and log_in(elsewhere) == 303
    # Refusals first: nothing changes, and each says why in one line.
    mismatch = post(here, "/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD,
                    repeat_password=NEW_PASSWORD + "x")
    assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.text
    wrong = post(here, "/account/password", current_password="not my password",
                 new_password=NEW_PASSWORD, repeat_password=NEW_PASSWORD)
    assert wrong.status_code == 400 and "The current password is wrong." in wrong.text
    short = post(here, "/account/password", current_password=PASSWORD, new_password="short",
                 repeat_password="short")
    assert short.status_code == 400 and "at least 12 characters" in short.text
    assert elsewhere.get("/account").status_code == 200  # still logged in

    done = post(here, "/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD,
                repeat_password=NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["location"].startswith("/account?done=password")
    assert "Password changed; your other sessions were ended." in here.get(done.headers["location"]).text
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303  # sent to log in
    assert log_in(console.browser(), PASSWORD) == 401 and log_in(console.browser(), NEW_PASSWORD) == 303
    changed = next(e for e in entries(console.db) if e["action"] == "user.passwd")
    assert changed["actor"] == "kim" and changed["arguments"] == {"user": "kim", "sessions_ended": 1}
    assert NEW_PASSWORD not in str(entries(console.db)) and PASSWORD not in str(entries(console.db))


def test_totp_enrolment_with_a_code_from_the_shown_secret_then_login_needs_a_code(console):
    client = console.browser()
    log_in(client)
    assert post(client, "/account/totp/start", current_password="wrong password!").status_code == 400
    started = post(client, "/account/totp/start", current_password=PASSWORD)
    assert started.status_code == 200
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', started.text)
    uri = re.search(r'<code id="totp-uri">([^<]+)</code>', started.text)
    assert secret is not None and uri is not None
    secret_text = secret.group(1).replace(" ", "")
    assert html.unescape(uri.group(1)) == pyotp.TOTP(secret_text).provisioning_uri(name="kim", issuer_name="opsplan")
    assert not console.users.get("kim").totp  # not on before it is confirmed

    wrong = post(client, "/account/totp/confirm", code="000000" if pyotp.TOTP(secret_text).at(
        console.clock.now) != "000000" else "111111")
    assert wrong.status_code == 400 and "The code is wrong" in wrong.text and secret.group(1) in wrong.text
    confirmed = post(client, "/account/totp/confirm", code=pyotp.TOTP(secret_text).at(console.clock.now))
    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>", confirmed.text)
    assert len(codes) == 10
    assert console.users.get("kim").totp
    assert client.get("/account").status_code == 200  # this session stays
    assert codes[0] not in client.get("/account").text  # shown once

    # A new login: the password alone is not enough, the app's code is.
    console.clock.now += 30
    browser = console.browser()
    assert log_in(browser) == 401
    assert log_in(browser, code=pyotp.TOTP(secret_text).at(console.clock.now)) == 303
    assert log_in(console.browser(), code=codes[0]) == 303  # a recovery code, once
    assert log_in(console.browser(), code=codes[0]) == 401

    # Off again with the password and a code; then the password alone logs in.
    console.clock.now += 30
    off = post(client, "/account/totp/disable", current_password=PASSWORD,
               code=pyotp.TOTP(secret_text).at(console.clock.now))
    assert off.status_code == 303
    assert not console.users.get("kim").totp and log_in(console.browser()) == 303
    actions = [e["action"] for e in entries(console.db) if e["actor"] == "kim"]
    assert "user.totp" in actions and "user.totp_off" in actions
    assert secret_text not in str(entries(console.db))


def test_a_confirmation_without_an_enrolment_says_start_again(console):
    client = console.browser()
    log_in(client)
    answer = post(client, "/account/totp/confirm", code="123456")
    assert answer.status_code == 400 and "start again" in answer.text


def test_the_korean_account_page_reads_as_korean_and_needs_nothing_the_policy_blocks(console):
    client = console.browser()
    log_in(client)
    post(client, "/account/language", language="ko")
    for page in (client.get("/account").text, post(client, "/account/totp/start", current_password=PASSWORD).text):
        finder = InlineFinder()
        finder.feed(page)
        assert finder.blocked == []
        body = re.sub(r"<code[^>]*>.*?</code>", " ", page, flags=re.S)
        body = re.sub(r"<svg.*?</svg>", " ", body, flags=re.S)
        text = html.unescape(re.sub(r"<[^>]+>", " ", body)).replace("ai-server-01", " ").replace("kim", " ")
        assert_korean("account page", text)


def test_the_cli_sets_the_same_language(tmp_path, console):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text(f"data_dir: {tmp_path}\nlanguage: en\n", encoding="utf-8")
    done = CliRunner().invoke(cli, ["--plan", str(plan), "user", "language", "kim", "ko"])
    assert done.exit_code == 0, done.output
    assert "Set kim's console language: ko." in done.output
    assert console.users.get("kim").language == "ko"
    bad = CliRunner().invoke(cli, ["--plan", str(plan), "user", "language", "kim", "fr"])
    assert bad.exit_code != 0 and "No language 'fr': use one of ko, en, default." in bad.output


def test_with_segno_the_enrolment_shows_a_qr_code_the_page_policy_allows(console):
    pytest.importorskip("segno")  # optional: without it the page shows the secret and the link as text
    client = console.browser()
    log_in(client)
    page = post(client, "/account/totp/start", current_password=PASSWORD).text
    qr = re.search(r'<figure id="totp-qr"><svg [^>]*class="segno"><title>QR code for an authenticator app</title>'
                   r'<path [^>]*d="M[^"]+"/></svg></figure>', page)
    assert qr is not None, page[page.find('id="totp"'):][:600]
    finder = InlineFinder()
    finder.feed(page)
    assert finder.blocked == []
