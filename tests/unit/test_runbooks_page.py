"""The runbooks page (/runbooks) through FastAPI's TestClient on a real SQLite state DB: journal rows
made by the real runbook engine (a toy runbook whose steps write files), the drill button bound to
serve's real scheduler, and the restore form checked against the identity stage's real passwords
and throttle. Who sees which button, who may press it, what each press leaves in the journal and
the audit log, and that a refused restore starts nothing."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rich.console import Console as RichConsole

import runbook_toys
from opsplan.audit import entries
from opsplan.jobs import SCHEDULE_ACTOR, Job, JobControl, job_actor
from opsplan.plan.models import Plan
from opsplan.runbooks.drill import results as drill_results
from opsplan.runbooks.engine import RunbookEngine
from opsplan.runbooks.journal import list_runs
from opsplan.serve.scheduler import Scheduler
from opsplan.store.state import StateDB
from opsplan.web.console.frame import Console
from opsplan.web.console.restore_start import RestoreStarter
from opsplan.web.console.runbooks import runbooks_router
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users
from unit.test_korean_text import assert_korean
from unit.test_security_headers import InlineFinder

NOW = 1_800_000_000.0
PASSWORD = "correct horse battery"
SECRET = "Pw-s3cret-runbook-page"  # distinctive: found by a plain search if it leaks
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SERVER = "ai-server-01"


class Clock:
    now = NOW

    def __call__(self) -> float:
        return self.now


class Page:
    """The app with its parts: the state DB, the toy runs' directory, the drill job's gate."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = StateDB.open(f"sqlite:///{tmp / 'state.db'}")
        self.clock = Clock()
        self.plan = Plan(data_dir=tmp, language="ko")
        users = Users(self.db, tmp, self.clock, FAST)
        for name, role in (("ops01", "operator"), ("view01", "viewer"), ("admin01", "admin")):
            users.add(name, role, PASSWORD, actor="root")
        # serve's drill job, on serve's own scheduler: it runs until the test lets it finish.
        self.drill_release = threading.Event()
        self.drills = 0

        def drill() -> None:  # as serve's drill job: a run journaled by the schedule's actor
            self.drills += 1
            self.drill_release.wait(30)
            self.run_toy(tmp / "drill-job", actor=job_actor())  # as the real job: who pressed, or the schedule

        self.jobs = JobControl()
        self.jobs.bind(Scheduler([Job("drill-database", "0 3 1 */3 *", drill)], timezone=self.plan.timezone,
                                 clock=self.clock))
        # The restore's runbook: the toy (2 steps writing files), built from the form's params.
        self.restore_dir = tmp / "restore"
        self.restore_dir.mkdir()
        self.restores: list[dict[str, Any]] = []

        def toy_restore(plan: Any, state_db: Any, params: dict[str, Any], **kwargs: Any) -> Any:
            self.restores.append(dict(params))
            return runbook_toys.build(plan, state_db, {"dir": str(self.restore_dir), "steps": 2, "pause_at": 2},
                                      **kwargs)

        self.web = web = build_identity_web(self.plan, self.db, self.clock, hasher=FAST)
        self.app = FastAPI()
        self.app.add_middleware(SecurityHeaders)
        self.app.include_router(identity_router(web))
        restore = RestoreStarter(self.plan, self.db, environ={}, clock=self.clock, build=toy_restore)
        self.app.include_router(runbooks_router(Console(self.plan, web), self.db, self.jobs, restore,
                                                clock=self.clock))
        self.client = TestClient(self.app)

    def run_toy(self, directory: Path, actor: str = "kim@ai-server-01", **params: Any) -> int:
        """One toy run through the real engine (journal rows as `opsplan` writes them)."""
        directory.mkdir(exist_ok=True)
        params = {"dir": str(directory), "steps": 3, **params}
        engine = RunbookEngine(self.plan, self.db, clock=self.clock, actor=actor,
                               console=RichConsole(file=io.StringIO()))
        return engine.run(runbook_toys.build(self.plan, self.db, params), params, yes=True).run_id

    def log_in(self, name: str) -> str:
        self.client.cookies.clear()
        answer = self.client.post("/login", data={"name": name, "password": PASSWORD}, headers=ORIGIN,
                                  follow_redirects=False)
        assert answer.status_code == 303
        return CSRF.search(self.client.get("/runbooks").text).group(1)  # type: ignore[union-attr]

    def post(self, path: str, **data: str) -> Any:
        return self.client.post(path, data=data, headers=ORIGIN, follow_redirects=False)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    made = Page(tmp_path)
    yield made
    made.drill_release.set()
    (made.restore_dir / "release").write_text("", encoding="utf-8")
    made.db.close()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def audited(db: StateDB, action: str) -> list[dict[str, Any]]:
    return [e for e in entries(db) if e["action"] == action]


def test_the_page_needs_a_login_and_a_viewer_reads_every_run_and_step_without_a_button(page):
    ok = page.run_toy(page.tmp / "a")
    failed = page.run_toy(page.tmp / "b", fail_at=2)
    answer = page.client.get("/runbooks?lang=en", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    page.log_in("view01")
    listing = page.client.get("/runbooks?lang=en").text
    shown = text_of(listing)
    assert f'href="/runbooks/{ok}?lang=en"' in listing and f'id="run-{failed}"' in listing
    assert "kim@ai-server-01" in shown and "rolled back" in shown and "3 steps done" in shown
    assert "step 2 failed on purpose" in shown  # why it failed, on the list
    assert "<form class=\"drill" not in listing and "restore-form" not in listing
    assert "A viewer cannot start a runbook." in shown
    detail = text_of(page.client.get(f"/runbooks/{failed}?lang=en").text)
    # Every step, the undos newest first, with their output (titles as journaled: the plan's language).
    assert "2단계: 파일 쓰기 failed" in detail and "↩ undo: 1단계: 파일 쓰기 ok" in detail
    assert "step 2 failed on purpose" in detail and "restored step1.txt" in detail
    assert page.client.get("/runbooks/999").status_code == 404
    csrf = CSRF.search(listing).group(1)  # type: ignore[union-attr]
    # The viewer's own session and token, posted straight at the routes the buttons use.
    assert page.post("/runbooks/drill", csrf_token=csrf).status_code == 403
    assert page.post("/runbooks/restore", csrf_token=csrf, password=PASSWORD, confirm=SERVER).status_code == 403
    assert page.drills == 0 and page.restores == [] and len(list_runs(page.db)) == 2


def test_an_operator_starts_a_drill_once_and_the_second_press_says_it_is_already_running(page):
    csrf = page.log_in("ops01")
    listing = page.client.get("/runbooks?lang=en").text
    assert 'action="/runbooks/drill"' in listing and "restore-form" not in listing
    assert "Only an admin can start a database restore." in text_of(listing)
    answer = page.post("/runbooks/drill", csrf_token=csrf, lang="en")
    assert answer.status_code == 303 and answer.headers["location"] == "/runbooks?lang=en&drill=started"
    after = page.client.get(answer.headers["location"]).text
    assert "The drill has started" in after
    assert 'hx-get="/runbooks/runs?lang=en"' in after  # the runs refresh while the drill job runs
    again = page.post("/runbooks/drill", csrf_token=csrf, lang="en")
    assert again.headers["location"] == "/runbooks?lang=en&drill=already"
    assert "A drill is already running; no new one was started." in page.client.get(again.headers["location"]).text
    assert page.drills == 1
    starts = audited(page.db, "drill.start")
    assert [(e["actor"], e["outcome"]) for e in starts] == [("ops01", "already-running"), ("ops01", "started")]
    # An operator may not restore, whatever they post.
    assert page.post("/runbooks/restore", csrf_token=csrf, password=PASSWORD, confirm=SERVER).status_code == 403
    assert page.post("/runbooks/drill", lang="en").status_code == 403  # no CSRF token
    page.drill_release.set()
    # The job's run names the operator who pressed, not the schedule (the scheduler tells the job).
    _wait_until(lambda: list_runs(page.db) and list_runs(page.db)[0]["status"] != "running")
    listing = page.client.get("/runbooks?lang=en").text
    assert "ops01 (from the console)" in text_of(listing) and "opsplan serve" not in text_of(listing)


def test_a_drill_nobody_asked_for_is_the_schedules(page):
    page.clock.now = NOW - 3600  # an hour before anyone pressed anything
    run_id = page.run_toy(page.tmp / "scheduled", actor=SCHEDULE_ACTOR)
    page.clock.now = NOW
    csrf = page.log_in("ops01")
    page.post("/runbooks/drill", csrf_token=csrf)  # a press now does not claim an old run
    assert "정기 일정 (opsplan serve)" in text_of(page.client.get(f"/runbooks/{run_id}?lang=ko").text)
    page.drill_release.set()


@pytest.mark.parametrize("wrong", ["password", "confirmation"])
def test_a_restore_is_refused_without_the_password_or_the_typed_name_audited_and_nothing_starts(page, wrong):
    csrf = page.log_in("admin01")
    form = {"csrf_token": csrf, "lang": "en", "backup": "7", "password": PASSWORD, "confirm": SERVER}
    form["password" if wrong == "password" else "confirm"] = "ai-server-02" if wrong == "confirmation" else "guess"
    answer = page.post("/runbooks/restore", **form)
    shown = text_of(answer.text)
    if wrong == "password":
        assert answer.status_code == 403 and "Wrong password: the restore was not started." in shown
    else:
        assert answer.status_code == 422 and "The name typed is not the server's name" in shown
    assert 'value="7"' in answer.text and 'value="guess"' not in answer.text  # never the password back
    assert page.restores == [] and list_runs(page.db) == []
    [refused] = audited(page.db, "restore.refused")
    assert (refused["actor"], refused["outcome"], refused["arguments"]["reason"]) == ("admin01", "refused", wrong)
    assert "guess" not in str(entries(page.db))


def test_wrong_restore_passwords_count_in_the_login_throttle(page):
    csrf = page.log_in("admin01")
    for _ in range(5):
        assert page.post("/runbooks/restore", csrf_token=csrf, password="guess", confirm=SERVER).status_code == 403
    # Now even the right password is refused, as /login would refuse it.
    answer = page.post("/runbooks/restore", csrf_token=csrf, password=PASSWORD, confirm=SERVER, lang="en")
    assert answer.status_code == 429 and "Too many wrong passwords" in text_of(answer.text)
    assert page.client.post("/login", data={"name": "admin01", "password": PASSWORD}, headers=ORIGIN,
                            follow_redirects=False).status_code == 429
    assert page.restores == [] and list_runs(page.db) == []
    assert [e["arguments"]["reason"] for e in audited(page.db, "restore.refused")][:2] == ["throttled", "password"]


def test_a_bad_backup_id_or_relative_target_is_refused_in_one_line(page):
    csrf = page.log_in("admin01")
    bad_id = page.post("/runbooks/restore", csrf_token=csrf, password=PASSWORD, confirm=SERVER, backup="x1", lang="en")
    assert bad_id.status_code == 422 and "The backup ID must be a positive whole number." in text_of(bad_id.text)
    relative = page.post("/runbooks/restore", csrf_token=csrf, password=PASSWORD, confirm=SERVER,
                         target_datadir="restored/here", lang="en")
    assert relative.status_code == 422 and "The target directory must be an absolute path." in text_of(relative.text)
    assert page.restores == [] and list_runs(page.db) == []


def test_a_restore_the_runbook_itself_refuses_is_one_line_with_its_detail_and_nothing_runs(page):
    # The real restore runbook's builder: a target that is the live datadir is refused before any step.
    app = FastAPI()
    app.include_router(identity_router(page.web))
    app.include_router(runbooks_router(Console(page.plan, page.web), page.db, page.jobs,
                                       RestoreStarter(page.plan, page.db, environ={}, clock=page.clock),
                                       clock=page.clock))
    page.client = TestClient(app)
    csrf = page.log_in("admin01")
    answer = page.post("/runbooks/restore", csrf_token=csrf, password=PASSWORD, confirm=SERVER, lang="ko",
                       target_datadir=str(page.plan.database.datadir))
    shown = text_of(answer.text)
    assert answer.status_code == 422 and "복원을 시작할 수 없습니다." in shown
    assert "상세: --target-datadir /var/lib/mysql is the plan's own datadir" in shown
    assert list_runs(page.db) == []
    [refused] = audited(page.db, "restore.refused")
    assert refused["arguments"]["reason"] == "cannot" and "own datadir" in refused["detail"]


def test_an_admin_starts_the_restore_and_watches_its_steps_to_the_end(page):
    csrf = page.log_in("admin01")
    answer = page.post("/runbooks/restore", csrf_token=csrf, password=PASSWORD, confirm=f" {SERVER} ", backup="12",
                       target_datadir="/srv/restored", lang="en")
    assert answer.status_code == 303
    run_id = int(re.fullmatch(r"/runbooks/(\d+)\?lang=en", answer.headers["location"]).group(1))  # type: ignore[union-attr]
    assert page.restores == [{"backup_id": 12, "time": None, "time_text": None, "target_datadir": "/srv/restored",
                              "target_port": None}]
    [run] = list_runs(page.db)
    assert (run["id"], run["actor"], run["status"]) == (run_id, "admin01", "running")
    [started] = audited(page.db, "restore.start")
    assert (started["actor"], started["run_id"], started["arguments"]["backup_id"]) == ("admin01", run_id, 12)
    # While it runs (the toy's step 2 waits): the steps so far, refreshed by htmx every few seconds.
    _wait_until((page.restore_dir / "paused.2").exists)
    live = page.client.get(f"/runbooks/{run_id}?lang=en").text
    assert f'hx-get="/runbooks/{run_id}/steps?lang=en"' in live and 'data-status="running"' in live
    assert 'data-step="step1" data-status="ok"' in live and 'data-step="step2" data-status="running"' in live
    assert f'href="/runbooks/{run_id}?lang=en">Reload' in live  # without JavaScript: a link
    listing = page.client.get("/runbooks?lang=en").text
    assert f'id="live-{run_id}"' in listing and "now: 2단계: 파일 쓰기" in text_of(listing)
    # A second restore while this one runs is refused (after the password, so it is audited too).
    busy = page.post("/runbooks/restore", csrf_token=csrf, password=PASSWORD, confirm=SERVER, lang="en")
    assert busy.status_code == 409 and f"(run {run_id}) is still running" in text_of(busy.text)
    (page.restore_dir / "release").write_text("", encoding="utf-8")

    def finished() -> str | None:
        fragment = page.client.get(f"/runbooks/{run_id}/steps?lang=en").text
        return fragment if 'data-status="ok"' in fragment.split(">", 1)[0] else None

    done = _wait_until(finished)
    assert "hx-get" not in done  # finished: the fragment stops asking
    assert 'data-step="step2" data-status="ok"' in done and "Status: ok" in text_of(done)


def test_a_drill_run_shows_the_rto_and_rpo_it_measured_against_the_targets(page):
    run_id = page.run_toy(page.tmp / "drill")
    drill = drill_results.start(page.db, "database", started_at=NOW, run_id=run_id, rto_target=4 * 3600.0,
                                rpo_target=24 * 3600.0)
    drill_results.update(page.db, drill, status="ok", rto_seconds=95.0, rpo_seconds=30 * 3600.0,
                         time_to_service=80.0, tables_checked=12, tables_failed=0, finished_at=NOW + 95)
    page.log_in("view01")
    shown = page.client.get(f"/runbooks/{run_id}?lang=en").text
    rto = text_of(shown[shown.index('id="figure-rto"'):shown.index("</tr>", shown.index('id="figure-rto"'))])
    rpo = text_of(shown[shown.index('id="figure-rpo"'):shown.index("</tr>", shown.index('id="figure-rpo"'))])
    assert "1m 35s" in rto and "4h" in rto and "target met" in rto
    assert "1d 6h" in rpo and "1d" in rpo and "target missed" in rpo
    assert "12 tables checked, 0 failed" in text_of(shown)
    korean = text_of(page.client.get(f"/runbooks/{run_id}?lang=ko").text)
    assert "목표 미달" in korean and "1분 35초" in korean


def test_secrets_in_a_runs_arguments_and_output_never_reach_the_page(page):
    run_id = page.run_toy(page.tmp / "secret", password=SECRET, raise_at=2)
    page.log_in("admin01")
    for path in ("/runbooks", f"/runbooks/{run_id}", f"/runbooks/{run_id}/steps", "/runbooks/runs"):
        body = page.client.get(path + "?lang=en").text
        assert SECRET not in body, path
    detail = page.client.get(f"/runbooks/{run_id}?lang=en").text
    assert "password was ***" in text_of(detail) and '"password": "***"' in text_of(detail)


@pytest.mark.parametrize("who", ["view01", "ops01", "admin01"])
def test_the_korean_pages_read_as_korean_and_need_nothing_the_policy_blocks(page, who):
    run_id = page.run_toy(page.tmp / "ko", fail_at=3)
    page.log_in(who)
    for path in ("/runbooks?lang=ko", f"/runbooks/{run_id}?lang=ko"):
        answer = page.client.get(path)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        finder = InlineFinder()
        finder.feed(answer.text)
        assert finder.blocked == []
        # The server's and users' names, and the toy's own English output, are not the page's words.
        text = text_of(answer.text).replace(SERVER, "").replace("kim@", "")
        text = re.sub(r"step \d failed on purpose|wrote \S+|restored \S+|step\d\.txt present", "", text)
        assert_korean(path, text)
    assert "복구 절차" in page.client.get("/runbooks?lang=ko").text  # the navigation's name


def test_without_the_identity_stage_the_page_refuses_every_form(page):
    app = FastAPI()
    restore = RestoreStarter(page.plan, page.db, environ={}, build=lambda *a, **k: pytest.fail("built"))
    app.include_router(runbooks_router(Console(page.plan, None), page.db, page.jobs, restore))
    client = TestClient(app)
    page.run_toy(page.tmp / "open")
    listing = client.get("/runbooks?lang=en").text
    assert "<form" not in listing and "run-list" in listing
    assert client.post("/runbooks/drill", headers=ORIGIN).status_code == 403
    assert client.post("/runbooks/restore", headers=ORIGIN).status_code == 403
    assert page.drills == 0


def _wait_until(check: Any, timeout: float = 20.0) -> Any:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
