"""The console's rules in a real browser (Debian's chromium through Playwright) against a real
`opsplan serve` whose users were made with `opsplan user add --password-stdin`: logging in,
throttling that survives a restart, who sees and may press the alerts page's buttons, an operator
acknowledging a real firing alert (a service on a closed port: ApiDown) with the audit entry in
their name, a form without its CSRF token refused, and a password change logging the old
browser session out. One serve for the module; the throttling test has its own (it throttles
the loopback address too)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import yaml_writer
from browser import chromium, log_in, unreachable_by_tab  # noqa: F401
from serve_process import start_serve, wait_for_cycles, wait_until
from unit.test_korean_text import english_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
USERS = {"admin01": "admin", "ops01": "operator", "view01": "viewer", "kim02": "operator"}
THROTTLED = "로그인 실패가 너무 많습니다"


def opsplan(plan: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(plan), *args], input=stdin,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def add_users(plan: Path, users: dict[str, str]) -> None:
    for name, role in users.items():
        opsplan(plan, "user", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # a stuck serve must not hang the suite
        proc.kill()


def write_plan(directory: Path) -> Path:
    """A Korean plan, one cycle a second, one service on a closed port: ApiDown fires after 2 s."""
    return yaml_writer.write_plan(directory, {
        "language": "ko",
        "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"}, "mariadb_down": {"enabled": False},
                                                    "gpu_missing": {"enabled": False},
                                                    "backup_age": {"enabled": False}}},
        "services": [{"name": "llm-api", "group": "app", "url": f"http://127.0.0.1:{yaml_writer.free_port()}/",
                      "timeout": "1s"}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"}})


def api_down_firing(url: str) -> str | None:
    groups = httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
    return next((a["fingerprint"] for g in groups for a in g["alerts"]
                 if a["alert"] == "ApiDown" and a["state"] == "firing"), None)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    """(url, plan, fingerprint of the firing ApiDown alert) of a serve with the four USERS."""
    plan = write_plan(tmp_path_factory.mktemp("console-flows"))
    add_users(plan, USERS)
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 1, timeout=60)
        yield url, plan, wait_until(lambda: api_down_firing(url), timeout=60)
    finally:
        stop(proc)


@pytest.fixture
def context(chromium):  # noqa: F811 - the fixture imported above
    context = chromium.new_context(locale="ko-KR")
    yield context
    context.close()


def csrf_token(page: Any) -> str:
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))


def test_an_admin_made_on_the_command_line_logs_in_and_may_act(context, console):
    url, _, fingerprint = console
    page = context.new_page()
    answer = log_in(page, url, "admin01")
    assert page.url == url, (answer.status, page.inner_text("body")[:300])
    page.goto(url + "alerts")
    assert "로그인: admin01" in page.locator("#who").inner_text()
    assert page.locator(f"#alert-{fingerprint} form.silence button").is_visible()


def test_the_overview_links_to_the_alerts_page(context, console):
    url, _, fingerprint = console
    page = context.new_page()
    page.goto(url + "?lang=ko")
    assert page.url.startswith(url + "login")  # nothing is shown before logging in
    log_in(page, url, "view01")
    page.goto(url + "?lang=ko")
    with page.expect_navigation():
        page.click("nav a[href^='/alerts']")
    assert page.url.startswith(url + "alerts") and page.locator(f"#alert-{fingerprint}").is_visible()
    assert page.locator("form.ack, form.silence").count() == 0  # a viewer: no buttons


def test_the_korean_alerts_page_reads_as_korean_and_every_button_is_reachable_with_tab(context, console):
    url, _, fingerprint = console
    page = context.new_page()
    log_in(page, url, "ops01")
    page.goto(url + "alerts?lang=ko")
    assert page.locator(f"#alert-{fingerprint} form.silence button").is_visible()
    # The host's own name (the subject of host-wide alerts) is a name, not an English word.
    words = [w for w in english_words(page.inner_text("body")) if w != socket.gethostname()]
    assert words == [], page.inner_text("body")
    assert unreachable_by_tab(page) == []


def test_a_viewer_sees_no_button_and_a_direct_post_is_refused(context, console):
    url, _, fingerprint = console
    page = context.new_page()
    log_in(page, url, "view01")
    page.goto(url + "alerts")
    assert page.locator(f"#alert-{fingerprint}").is_visible()
    assert page.locator("form.ack, form.silence").count() == 0
    # The viewer's own session and token, posted straight at the route the button would use.
    answer = context.request.post(url + f"alerts/{fingerprint}/ack", form={"csrf_token": csrf_token(page)},
                                  headers={"Origin": url.rstrip("/")}, max_redirects=0)
    assert answer.status == 403
    page.reload()
    assert "확인:" not in page.locator(f"#alert-{fingerprint} .handling").inner_text()


def test_a_form_posted_without_its_csrf_token_is_refused(context, console):
    url, _, fingerprint = console
    page = context.new_page()
    log_in(page, url, "ops01")
    page.goto(url + "alerts")
    form = f"#alert-{fingerprint} form.silence"
    page.evaluate(f"() => document.querySelector('{form} input[name=csrf_token]').remove()")
    with page.expect_navigation() as navigation:
        page.click(f"{form} button")
    assert navigation.value.status == 403
    page.goto(url + "alerts")
    assert "⊘" not in page.locator(f"#alert-{fingerprint} .handling").inner_text()


def test_an_operator_acknowledges_a_firing_alert_and_the_audit_log_names_them(context, console):
    url, plan, fingerprint = console
    page = context.new_page()
    log_in(page, url, "ops01")
    page.goto(url + "alerts?lang=ko")
    with page.expect_navigation():
        page.click(f"#alert-{fingerprint} form.ack button")
    assert page.url == url + "alerts?lang=ko"
    assert "확인: ops01" in page.locator(f"#alert-{fingerprint} .handling").inner_text()
    assert page.locator(f"#alert-{fingerprint} form.ack").count() == 0
    # The overview shows it too, at once: both pages read the stored acknowledgements.
    page.goto(url + "?lang=ko")
    assert "확인됨" in page.locator("#alerts tr.alert-firing", has_text="ApiDown").inner_text()
    entries = json.loads(opsplan(plan, "audit", "list", "--json").stdout)["entries"]
    acks = [e for e in entries if e["action"] == "alert.ack" and e["target"] == f"alert {fingerprint}"]
    assert [e["actor"] for e in acks] == ["ops01"] and acks[0]["arguments"]["via"] == "console"


def test_the_alerts_table_refreshes_in_place_and_its_buttons_still_work(context, console):
    """htmx swaps the table in (CSP: no inline script, no eval) without reloading the page; a silence
    made meanwhile through the API shows, and a button of the swapped-in table posts as before."""
    url, plan, fingerprint = console
    page = context.new_page()
    log_in(page, url, "admin01")
    page.goto(url + "alerts?lang=ko")
    page.evaluate("() => { window.notReloaded = true; }")
    csrf = csrf_token(page)
    assert "⊘" not in page.locator(f"#alert-{fingerprint} .handling").inner_text()
    # Another operator's script (here the same session through the JSON API) silences the alert.
    silenced = context.request.post(url + "api/v1/silences", headers={"Origin": url.rstrip("/"), "X-CSRF-Token": csrf},
                                    data={"matchers": [{"name": "alertname", "value": "ApiDown"}],
                                          "author": "x", "duration": "1h"})
    assert silenced.status == 201, silenced.text()
    wait_until(lambda: "⊘" in page.locator(f"#alert-{fingerprint} .handling").inner_text(), timeout=20)
    assert page.evaluate("() => window.notReloaded === true")  # swapped in, not reloaded
    assert page.locator(f"#alert-{fingerprint} form.silence").count() == 0  # silenced: no silence button
    # The swapped-in table's forms carry the session's token: ending the silence and pressing again works.
    expired = context.request.delete(url + f"api/v1/silences/{silenced.json()['id']}",
                                     headers={"Origin": url.rstrip("/"), "X-CSRF-Token": csrf})
    assert expired.status == 200
    wait_until(lambda: page.locator(f"#alert-{fingerprint} form.silence").count() == 1, timeout=20)
    with page.expect_navigation():
        page.click(f"#alert-{fingerprint} form.silence button")
    assert page.url == url + "alerts?lang=ko"
    assert "⊘" in page.locator(f"#alert-{fingerprint} .handling").inner_text()


def test_a_password_change_logs_the_old_browser_session_out(context, console):
    url, plan, _ = console
    page = context.new_page()
    log_in(page, url, "kim02")
    page.goto(url + "alerts")
    assert "로그인: kim02" in page.locator("#who").inner_text()
    opsplan(plan, "user", "passwd", "kim02", "--password-stdin", stdin="another long password\n")
    # The table's next refresh finds the session ended: the tab goes to the login form by itself (not
    # the login form swapped into the table), to come back to the alerts page afterwards.
    # Playwright's own wait: `page.url` is only updated while Playwright is waited on, and asking the
    # page itself (`evaluate`) fails when the question lands in the middle of that navigation.
    page.wait_for_url(lambda address: urlsplit(address).path == "/login", timeout=20_000)
    assert "next=%2Falerts" in page.url and page.locator("input[name=password]").is_visible()
    page.goto(url + "alerts")
    assert page.url.startswith(url + "login")  # the old session ended: back to the login form
    page.goto(url + "sessions")
    assert page.url.startswith(url + "login")


def test_wrong_passwords_are_throttled_and_still_are_after_serve_restarts(chromium, tmp_path: Path):  # noqa: F811
    plan = write_plan(tmp_path)
    add_users(plan, {"admin01": "admin"})
    proc, url = start_serve(plan)
    context = chromium.new_context(locale="ko-KR")
    try:
        page = context.new_page()
        answers = [log_in(page, url, "admin01", "not the password at all") for _ in range(5)]
        assert [a.status for a in answers] == [401] * 5
        refused = log_in(page, url, "admin01")  # the right password, too late
        assert refused.status == 429 and THROTTLED in page.inner_text("body")
        stop(proc)
        proc, url = start_serve(plan)  # the same state database
        refused = log_in(page, url, "admin01")
        assert refused.status == 429 and THROTTLED in page.inner_text("body")
    finally:
        context.close()
        stop(proc)
