"""The console's Reports page: the check runs a person signs off, the report itself under a policy
that lets nothing load or run, and sign-off only for an operator, audited with their name."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsplan.audit import entries
from opsplan.checks import runs
from opsplan.jobs import Job, JobControl, job_actor
from opsplan.plan.models import CheckItem, Checks, CheckSchedule, Plan
from opsplan.serve.scheduler import Scheduler
from opsplan.store.state import StateDB
from opsplan.web.console.frame import Console, operator_only
from opsplan.web.console.reports import REPORT_CSP, reports_router
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users
from unit.test_korean_text import assert_korean

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NOW = 1_800_000_000.0


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[TestClient, StateDB, int]]:
    # One manual item: a run that needs no store or tool, as a person's checklist.
    checks = Checks(daily=CheckSchedule(schedule="0 9 * * *", items=[
        CheckItem(ko="서버실 온도 확인", en="Server room temperature")]))
    plan = Plan(data_dir=tmp_path, language="ko", checks=checks)
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    outcome = runs.run_checks(plan, db, "daily", actor="opsplan serve (schedule)", now=NOW, clock=lambda: NOW)
    users = Users(db, tmp_path, lambda: NOW, FAST)
    for name, role in (("ops01", "operator"), ("view01", "viewer")):
        users.add(name, role, PASSWORD, actor="root")
    web = build_identity_web(plan, db, lambda: NOW, hasher=FAST)
    console = Console(plan, web)
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.include_router(identity_router(web))
    app.include_router(reports_router(console, db, operator_only(web), lambda: NOW))
    yield TestClient(app), db, outcome.run_id
    db.close()


def log_in(client: TestClient, name: str) -> None:
    assert client.post("/login", data={"name": name, "password": PASSWORD}, headers=ORIGIN,
                       follow_redirects=False).status_code == 303


def test_the_list_needs_a_login_and_a_viewer_reads_but_cannot_sign(console):
    client, _, run_id = console
    assert client.get("/reports", follow_redirects=False).status_code == 303
    log_in(client, "view01")
    page = client.get("/reports").text
    assert f'href="/reports/{run_id}?lang=ko"' in page and "서명 전" in page
    assert "/sign" not in page and "조회자는 보고서에 서명할 수 없습니다" in page
    text = re.sub(r"<[^>]+>", " ", page)
    assert_korean("reports page", text)
    csrf = CSRF.search(page)
    assert csrf is not None
    refused = client.post(f"/reports/{run_id}/sign", data={"csrf_token": csrf.group(1)}, headers=ORIGIN)
    assert refused.status_code == 403


def test_the_report_is_served_whole_under_a_policy_that_runs_nothing(console):
    client, _, run_id = console
    log_in(client, "view01")
    answer = client.get(f"/reports/{run_id}?lang=en")
    assert answer.status_code == 200 and answer.text.startswith("<!DOCTYPE html>")
    assert "Server room temperature" in answer.text and "<script" not in answer.text
    assert answer.headers["content-security-policy"] == REPORT_CSP
    assert client.get("/reports/999").status_code == 404


def test_an_operator_signs_off_once_with_a_note_and_the_audit_log_names_them(console):
    client, db, run_id = console
    log_in(client, "ops01")
    page = client.get("/reports?lang=en").text
    csrf = CSRF.search(page)
    assert csrf is not None and f'action="/reports/{run_id}/sign"' in page
    assert client.post(f"/reports/{run_id}/sign", data={"note": "looked fine"}, headers=ORIGIN).status_code == 403
    signed = client.post(f"/reports/{run_id}/sign", data={"csrf_token": csrf.group(1), "note": "looked fine",
                                                          "lang": "en"}, headers=ORIGIN, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/reports?lang=en"
    row = client.get("/reports?lang=en").text
    assert "✔ ops01" in row and f'action="/reports/{run_id}/sign"' not in row
    assert runs.get_run(db, run_id)["signed"]["note"] == "looked fine"
    assert [e["actor"] for e in entries(db) if e["action"] == "check.sign"] == ["ops01"]
    again = client.post(f"/reports/{run_id}/sign", data={"csrf_token": csrf.group(1)}, headers=ORIGIN)
    assert again.status_code == 409


@pytest.fixture
def with_jobs(tmp_path: Path) -> Iterator[tuple[TestClient, StateDB, threading.Event]]:
    """The page with serve's real scheduler holding a `check-daily` job that waits for the test's go."""
    checks = Checks(daily=CheckSchedule(schedule="0 9 * * *", items=[
        CheckItem(ko="서버실 온도 확인", en="Server room temperature")]))
    plan = Plan(data_dir=tmp_path, language="ko", checks=checks)
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    go = threading.Event()

    def run() -> object:
        go.wait(30)
        return runs.run_checks(plan, db, "daily", actor=job_actor(), now=NOW, clock=lambda: NOW)

    scheduler = Scheduler([Job("check-daily", "0 9 * * *", run)], timezone=plan.timezone)
    control = JobControl()
    control.bind(scheduler)
    users = Users(db, tmp_path, lambda: NOW, FAST)
    users.add("ops01", "operator", PASSWORD, actor="root")
    web = build_identity_web(plan, db, lambda: NOW, hasher=FAST)
    console = Console(plan, web)
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.include_router(identity_router(web))
    app.include_router(reports_router(console, db, operator_only(web), lambda: NOW, jobs=control, periods=["daily"]))
    yield TestClient(app), db, go
    go.set()
    db.close()


def test_run_now_shows_running_refuses_a_second_start_then_done_in_korean(with_jobs):
    client, db, go = with_jobs
    log_in(client, "ops01")
    page = client.get("/reports").text
    csrf = CSRF.search(page)
    assert csrf is not None and 'action="/reports/run/daily"' in page and "일일 점검 (daily) 지금 실행" in page
    form = {"csrf_token": csrf.group(1), "lang": "ko"}
    started = client.post("/reports/run/daily", data=form, headers=ORIGIN, follow_redirects=False)
    assert started.headers["location"] == "/reports?started=started&lang=ko"
    running = client.get(started.headers["location"]).text
    assert "점검을 시작했습니다" in running and 'class="running"' in running and "실행 중" in running
    assert '<meta http-equiv="refresh"' in running  # it reloads itself until the run is done
    again = client.post("/reports/run/daily", data=form, headers=ORIGIN, follow_redirects=False)
    assert again.headers["location"] == "/reports?started=already&lang=ko"
    assert "이미 실행 중이어서 새로 시작하지 않았습니다" in client.get(again.headers["location"]).text
    assert client.post("/reports/run/yearly", data=form, headers=ORIGIN).status_code == 404
    go.set()
    deadline = time.time() + 30
    while "완료: 1번" not in (done := client.get("/reports").text) and time.time() < deadline:
        time.sleep(0.1)
    assert "완료: 1번" in done and '<meta http-equiv="refresh"' not in done
    assert_korean("reports page with its run buttons", re.sub(r"<[^>]+>", " ", done))
    assert runs.list_runs(db)[0]["actor"] == "ops01 (console)"
    assert sorted((e["actor"], e["outcome"]) for e in entries(db) if e["action"] == "check.start") == \
        [("ops01", "already-running"), ("ops01", "started")]


# --- downloads (issue 14 item 6: task pdf) ---------------------------------------------------------

def test_a_viewer_downloads_the_report_in_each_format_and_language_and_a_stranger_is_sent_to_log_in(console):
    from opsplan.pdf import unavailable
    from pdf_text import read_pdf

    client, _, run_id = console
    anonymous = client.get(f"/reports/{run_id}/download/html", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next=%2Freports%2F{run_id}%2Fdownload%2Fhtml"
    log_in(client, "view01")
    page = client.get("/reports").text
    for format_ in ("html", "md", "json"):
        assert f'href="/reports/{run_id}/download/{format_}?lang=ko" download' in page
    pdf_link = f'href="/reports/{run_id}/download/pdf?lang=ko" download'
    if unavailable() is None:
        assert pdf_link in page and 'id="pdf-unavailable"' not in page
    else:  # no WeasyPrint or no Korean font here: no link that would fail, and the page says why not
        assert pdf_link not in page and "이 서버에서는 PDF를 만들 수 없습니다" in page
    html = client.get(f"/reports/{run_id}/download/html")
    assert html.status_code == 200 and html.text.startswith("<!DOCTYPE html>") and "일일 점검 보고서" in html.text
    assert html.headers["content-disposition"] == f'attachment; filename="opsplan-report-{run_id}-daily-ko.html"'
    assert "sandbox" in html.headers["content-security-policy"] and html.headers["cache-control"] == "no-store"
    markdown = client.get(f"/reports/{run_id}/download/md?lang=en")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Daily check report") and "Server room temperature" in markdown.text
    assert markdown.headers["content-disposition"].endswith(f'filename="opsplan-report-{run_id}-daily-en.md"')
    document = client.get(f"/reports/{run_id}/download/json").json()
    assert document["language"] == "ko" and document["items"][0]["title"]["ko"] == "서버실 온도 확인"
    printed = client.get(f"/reports/{run_id}/download/pdf")
    if unavailable() is None:
        assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
        assert printed.headers["content-disposition"] == f'attachment; filename="opsplan-report-{run_id}-daily-ko.pdf"'
        assert "서버실 온도 확인" in read_pdf(printed.content).text
    else:
        assert printed.status_code == 503 and len(printed.text.strip().splitlines()) == 1
    assert client.get(f"/reports/{run_id}/download/docx").status_code == 404
    assert client.get("/reports/999/download/md").status_code == 404
    assert client.get(f"/reports/{run_id}/download/md?lang=fr").status_code == 400


def test_a_report_id_past_what_the_database_holds_is_no_report(console):
    """A pasted link with a twenty-digit id: "no such report" (404), not a server error."""
    client, _, run_id = console
    log_in(client, "ops01")
    csrf = CSRF.search(client.get("/reports").text)
    assert csrf is not None
    huge = "99999999999999999999"
    assert client.get(f"/reports/{huge}").status_code == 404
    assert client.get(f"/reports/{huge}/download/md").status_code == 404
    signed = client.post(f"/reports/{huge}/sign", data={"csrf_token": csrf.group(1)}, headers=ORIGIN)
    assert signed.status_code == 404
