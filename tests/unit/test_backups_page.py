"""The backups page (GET /backups) and its two buttons through FastAPI's TestClient, on a real SQLite
state DB whose catalog holds two chains, a failed incremental and a failed full (rows as the engine
writes them, stored files on disk), a real model version and a real configuration commit. The
"back up now" button goes through a JobControl bound to a real Scheduler whose backup-database job
records that it ran; "verify" re-hashes the stored files on its own thread, as the CLI does."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsplan.audit import entries
from opsplan.backup.config.git_repo import ConfigRepo
from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import DbBackup, DbBackupFile
from opsplan.backup.database.engine import STREAM_FILE, database_root
from opsplan.backup.hashing import ALGORITHM, hash_bytes
from opsplan.backup.models.store import ModelStore
from opsplan.jobs import Job, JobControl, job_actor
from opsplan.plan.models import Plan
from opsplan.serve.scheduler import Scheduler
from opsplan.store.state import StateDB
from opsplan.web.console.backups import Verifier, backups_router
from opsplan.web.console.frame import Console, NavItem
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users
from unit.test_korean_text import assert_korean
from unit.test_security_headers import InlineFinder

NOW = 1_800_000_000.0  # 2027-01-15 17:00 KST
HOUR = 3600.0
DAY = 86400.0
PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DISK_FULL = "disk full in /srv/backup/database: [Errno 28] No space left on device"


def _plan(tmp: Path) -> Plan:
    return Plan.model_validate({
        "data_dir": str(tmp / "data"), "language": "ko",
        "backup": {"directory": str(tmp / "backups"),
                   "models": {"models": [{"name": "llm-7b", "path": str(tmp / "model")}]},
                   "config": {"paths": [str(tmp / "etc")]}},
    })


class Rows:
    """Catalog rows as the engine writes them, each ok one with its stored stream on disk."""

    def __init__(self, plan: Plan, db: StateDB) -> None:
        self.plan, self.db = plan, db

    def add(self, when: float, kind: str, parent: int | None = None, *, status: str = "ok",
            reason: str | None = None) -> int:
        data = f"backup taken at {when}".encode() * 50
        with self.db.session() as s:
            full_id = None
            if parent is not None:
                up = catalog.get_backup(s, parent)
                full_id = up.full_id or up.id
            row = DbBackup(target="database", kind=kind, status=status, reason=reason, trigger="schedule",
                           started_at=when, finished_at=when + 95, parent_id=parent, full_id=full_id,
                           bytes_stored=len(data) if status == "ok" else None)
            s.add(row)
            s.flush()
            row.directory = f"{row.id}-{kind}"
            if status == "ok":
                row.files = [DbBackupFile(name=STREAM_FILE, role="stream", size=len(data), hash_algorithm=ALGORITHM,
                                          hash=hash_bytes(data))]
            backup_id = row.id
        if status == "ok":
            folder = database_root(self.plan) / f"{backup_id}-{kind}"
            folder.mkdir(parents=True)
            (folder / STREAM_FILE).write_bytes(data)
        return backup_id

    def stream(self, backup_id: int, kind: str) -> Path:
        return database_root(self.plan) / f"{backup_id}-{kind}" / STREAM_FILE


@dataclass
class Page:
    client: TestClient
    db: StateDB
    plan: Plan
    ran: threading.Event
    release: threading.Event
    verifier: Verifier
    job: Job
    rows: Rows


def _app(plan: Plan, db: StateDB, tmp: Path, control: JobControl, verifier: Verifier) -> TestClient:
    users = Users(db, tmp, lambda: NOW, FAST)
    for name, role in (("ops01", "operator"), ("view01", "viewer"), ("admin01", "admin")):
        users.add(name, role, PASSWORD, actor="root")
    web = build_identity_web(plan, db, lambda: NOW, hasher=FAST)
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.include_router(identity_router(web))
    console = Console(plan, web)
    console.add_page(NavItem("/backups", 30))  # as the backup stage does
    app.include_router(backups_router(plan, db, console, control, clock=lambda: NOW, verifier=verifier))
    return TestClient(app)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    plan = _plan(tmp_path)
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    rows = Rows(plan, db)
    # Chain 1: a full and two incrementals, the second failed (the backup directory was full).
    first = rows.add(NOW - 9 * DAY, "full")
    second = rows.add(NOW - 8 * DAY, "incremental", first)
    rows.add(NOW - 7 * DAY, "incremental", second, status="failed", reason=DISK_FULL)
    # Chain 2, the current one: a full and an incremental.
    fourth = rows.add(NOW - 2 * DAY, "full")
    rows.add(NOW - DAY, "incremental", fourth)
    # A full that died with its process: an attempt in no chain.
    rows.add(NOW - 2 * HOUR, "full", status="failed", reason=catalog.INTERRUPTED)
    # The job serve runs at 02:00, here recording that it ran and holding until released.
    ran, release = threading.Event(), threading.Event()

    def backup_job() -> None:
        job.asked_by = job_actor()  # type: ignore[attr-defined] - who the job acts for, as the real one reads it
        ran.set()
        release.wait(10)

    job = Job(name="backup-database", cron=plan.backup.database.schedule, run=backup_job)
    scheduler = Scheduler([job], timezone=plan.timezone, clock=lambda: NOW)
    control = JobControl()
    control.bind(scheduler)
    verifier = Verifier(plan, db, clock=lambda: NOW)
    yield Page(_app(plan, db, tmp_path, control, verifier), db, plan, ran, release, verifier, job, rows)
    release.set()
    verifier.wait()
    db.close()


def log_in(client: TestClient, name: str) -> str:
    answer = client.post("/login", data={"name": name, "password": PASSWORD}, headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303
    found = CSRF.search(client.get("/backups").text)
    assert found, "the page carries no CSRF token for a logged-in user"
    return found.group(1)


def part(html: str, element_id: str, end: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index(end, start)]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_chains_group_each_full_with_its_incrementals_newest_chain_first(page):
    log_in(page.client, "view01")
    html = page.client.get("/backups?lang=en").text
    chains = re.findall(r'<tbody class="chain" id="chain-(\d+)">', html)
    assert chains == ["6", "4", "1"]
    members = {key: re.findall(r'id="backup-(\d+)"', part(html, f"chain-{key}", "</tbody>")) for key in chains}
    assert members == {"6": ["6"], "4": ["4", "5"], "1": ["1", "2", "3"]}
    assert "current chain" in part(html, "chain-4", "</tr>") and "current chain" not in part(html, "chain-1", "</tr>")
    assert "A failed attempt, in no chain" in part(html, "chain-6", "</tr>")
    incremental = text_of(part(html, "backup-5", "</tr>"))
    assert "└ 5" in incremental and "incremental" in incremental and "1m 35s" in incremental  # took 95 s
    assert "2027-01-14 17:00:00 KST" in incremental  # the plan's zone, as people read times
    # Retention and the next run, from the plan (seed: 30 days, daily 02:00 Seoul time).
    assert '<a href="/backups?lang=en" aria-current="page">Backups</a>' in html
    assert "Retention: 30 days" in html and "Next scheduled backup: 2027-01-16 02:00 KST" in html


def test_a_failed_backup_says_why_in_korean_with_the_stored_words_on_their_own_line(page):
    log_in(page.client, "view01")
    html = page.client.get("/backups?lang=ko").text
    failed = text_of(part(html, "backup-3", "</tr>"))
    assert "✖ 실패" in failed and "백업 디렉터리 공간 부족" in failed
    assert f"상세: {DISK_FULL}" in failed
    assert "백업 도중 중단됨" in text_of(part(html, "backup-6", "</tr>"))
    english = text_of(page.client.get("/backups?lang=en").text)
    assert "the backup directory is full" in english and "interrupted before it finished" in english


@pytest.mark.parametrize("who", [None, "ops01", "view01"])
def test_the_korean_page_reads_as_korean_and_needs_nothing_the_policy_blocks(page, who):
    if who:
        log_in(page.client, who)
    answer = page.client.get("/backups?lang=ko")
    if who is None:
        assert answer.status_code == 200 and "/login" in str(answer.url)  # the login form first
        return
    assert answer.headers["cache-control"] == "no-store"
    finder = InlineFinder()
    finder.feed(answer.text)
    assert finder.blocked == []
    # What the engines stored (English) stands only on its `상세:` lines, which the detector allows.
    assert_korean("backups page", re.sub(r"<[^>]+>", " ", answer.text.replace("<br>", "\n")))


def test_a_viewer_sees_no_button_and_a_direct_post_is_refused(page):
    csrf = log_in(page.client, "view01")
    html = page.client.get("/backups?lang=ko").text
    assert "/backups/database/run" not in html and "/verify" not in html
    assert "조회자는 백업을 시작하거나 검증할 수 없습니다" in html
    assert page.client.post("/backups/database/run", data={"csrf_token": csrf}, headers=ORIGIN).status_code == 403
    assert page.client.post("/backups/database/1/verify", data={"csrf_token": csrf},
                            headers=ORIGIN).status_code == 403
    assert not page.ran.is_set() and page.verifier.running() == set()
    assert not [e for e in entries(page.db) if e["action"].startswith("backup.")]


def test_a_form_without_a_session_or_its_csrf_token_is_refused(page):
    assert page.client.post("/backups/database/run", data={"csrf_token": "x"}, headers=ORIGIN).status_code == 403
    log_in(page.client, "ops01")
    assert page.client.post("/backups/database/run", data={}, headers=ORIGIN).status_code == 403
    assert not page.ran.is_set()


def test_an_operator_starts_the_backup_job_and_the_audit_log_names_them(page):
    csrf = log_in(page.client, "ops01")
    html = page.client.get("/backups?lang=ko").text
    assert 'action="/backups/database/run"' in html and "hx-trigger" not in html  # nothing runs: no refresh
    answer = page.client.post("/backups/database/run", data={"csrf_token": csrf, "lang": "ko"}, headers=ORIGIN,
                              follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/backups?lang=ko&done=started"
    assert page.ran.wait(5), "serve's backup-database job did not run"
    assert page.job.asked_by == "ops01 (console)"  # the job knows who pressed the button
    shown = page.client.get(answer.headers["location"]).text
    assert "백업을 시작했습니다" in shown and 'id="backup-running"' in shown
    # While it runs: the lists refresh themselves (htmx; a meta refresh without script), no second button.
    assert 'hx-get="/backups/content?lang=ko"' in shown and 'http-equiv="refresh"' in shown
    assert 'action="/backups/database/run"' not in shown
    fragment = page.client.get("/backups/content?lang=ko").text
    assert fragment.startswith('<div id="backups-content"') and "<html" not in fragment
    again = page.client.post("/backups/database/run", data={"csrf_token": csrf, "lang": "ko"}, headers=ORIGIN,
                             follow_redirects=False)
    assert again.headers["location"] == "/backups?lang=ko&done=already"
    assert "백업이 이미 진행 중이어서 새로 시작하지 않았습니다" in page.client.get(again.headers["location"]).text
    logged = [(e["actor"], e["action"], e["target"], e["outcome"]) for e in entries(page.db)[:2]]
    assert logged == [("ops01", "backup.start", "backup database", "already-running"),
                      ("ops01", "backup.start", "backup database", "started")]
    assert entries(page.db)[0]["arguments"]["via"] == "console"
    page.release.set()
    assert page.job.running is not None
    page.job.running.join(5)
    assert "hx-trigger" not in page.client.get("/backups?lang=ko").text  # done: the refresh stops


def test_verify_runs_in_the_background_and_its_result_shows_on_the_page(page):
    csrf = log_in(page.client, "admin01")  # an admin may too
    (page.rows.stream(5, "incremental")).write_bytes(b"damaged on disk")  # same path, other bytes
    for backup_id in (1, 5):
        answer = page.client.post(f"/backups/database/{backup_id}/verify", data={"csrf_token": csrf, "lang": "ko"},
                                  headers=ORIGIN, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/backups?lang=ko&done=verifying&id={backup_id}"
    page.verifier.wait()
    html = page.client.get("/backups?lang=ko&done=verifying&id=5").text
    assert "백업 5를 검증하고 있습니다" in html
    assert "검증 통과 (2027-01-15 17:00:00 KST)" in text_of(part(html, "backup-1", "</tr>"))
    damaged = text_of(part(html, "backup-5", "</tr>"))
    assert "검증 실패" in damaged and "저장된 파일의 크기가 기록과 다름" in damaged and "상세:" in damaged
    assert "검증 안 함" in text_of(part(html, "backup-2", "</tr>"))
    with page.db.session() as s:
        assert [catalog.get_backup(s, i).verify_status for i in (1, 2, 5)] == ["ok", None, "failed"]
    assert [(e["actor"], e["action"], e["target"]) for e in entries(page.db)[:2]] == [
        ("admin01", "backup.verify", "backup 5"), ("admin01", "backup.verify", "backup 1")]
    # Only a kept, ok backup has a button; a failed one or an unknown id is refused with why.
    assert "/backups/database/3/verify" not in html
    assert page.client.post("/backups/database/3/verify", data={"csrf_token": csrf}, headers=ORIGIN).status_code == 409
    missing = page.client.post("/backups/database/999/verify", data={"csrf_token": csrf}, headers=ORIGIN)
    assert missing.status_code == 404 and "no database backup with id 999" in missing.text


class GatedVerifier(Verifier):
    """The real verify, started only once the test opens the gate: "still running" made observable."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()

    def _run(self, backup_id: int) -> None:
        self.gate.wait(10)
        super()._run(backup_id)


def test_a_verify_already_running_is_not_started_twice_and_the_page_refreshes_until_it_ends(tmp_path):
    plan = _plan(tmp_path)
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    verifier = GatedVerifier(plan, db, clock=lambda: NOW)
    client = _app(plan, db, tmp_path, JobControl(), verifier)
    try:
        backup_id = Rows(plan, db).add(NOW - DAY, "full")
        csrf = log_in(client, "ops01")
        post = {"data": {"csrf_token": csrf}, "headers": ORIGIN, "follow_redirects": False}
        first = client.post(f"/backups/database/{backup_id}/verify", **post)
        second = client.post(f"/backups/database/{backup_id}/verify", **post)
        assert first.headers["location"] == f"/backups?done=verifying&id={backup_id}"
        assert second.headers["location"] == f"/backups?done=verify-already&id={backup_id}"
        assert "이미 검증 중입니다" in client.get(second.headers["location"]).text
        running = client.get("/backups?lang=ko").text
        assert "검증 중" in text_of(part(running, f"backup-{backup_id}", "</tr>")) and "hx-trigger" in running
        assert f"/backups/database/{backup_id}/verify" not in running
        verifier.gate.set()
        verifier.wait()
        done = client.get("/backups?lang=ko").text
        assert "검증 통과" in text_of(part(done, f"backup-{backup_id}", "</tr>")) and "hx-trigger" not in done
        assert [e["outcome"] for e in entries(db)[:2]] == ["already-running", "started"]
    finally:
        verifier.gate.set()
        verifier.wait()
        db.close()


def test_models_config_binlogs_and_rpo_as_the_catalogs_hold_them(page, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * 4000)
    ModelStore(page.plan.backup.directory, page.db, clock=lambda: NOW - HOUR).backup(
        "llm-7b", model, keep=5, version="v3")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "my.cnf").write_text("[mysqld]\nport=3306\n")
    result = ConfigRepo(page.plan.backup.directory, page.db, clock=lambda: NOW - HOUR).backup([etc])
    log_in(page.client, "view01")
    html = page.client.get("/backups?lang=en").text
    models = text_of(part(html, "models", "</section>"))
    assert "llm-7b" in models and "v3" in models and "1 of at most 5 versions kept" in models and "4 KB" in models
    config = text_of(part(html, "config", "</section>"))
    assert result.commit is not None and result.commit[:12] in config and "files changed: 1" in config
    assert "2027-01-15 16:00:00 KST" in config
    # No binlog archived: the RPO is from the newest backup's end (backup 5, a day and 95 s ago).
    rpo = text_of(part(html, "binlogs", "</section>"))
    assert "No binary log archived yet" in rpo and "23h 58m 25s" in rpo and "within target" in rpo


def test_an_empty_catalog_says_when_the_first_backup_runs_and_how_to_start_one(tmp_path):
    plan = _plan(tmp_path)
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    client = _app(plan, db, tmp_path, JobControl(), Verifier(plan, db))
    try:
        log_in(client, "view01")
        html = client.get("/backups?lang=ko").text
        assert "아직 백업이 없습니다. 첫 백업은 2027-01-16 02:00 KST에 실행됩니다." in html
        assert "아직 백업된 버전이 없습니다" in html and "아직 설정 커밋이 없습니다" in html
        client.cookies.clear()
        csrf = log_in(client, "ops01")
        html = client.get("/backups?lang=en").text
        assert "No backup yet: the first runs at 2027-01-16 02:00 KST, or now with the button below." in html
        # Without serve's scheduler (a JobControl never bound) the button says so, in one line.
        answer = client.post("/backups/database/run", data={"csrf_token": csrf}, headers=ORIGIN)
        assert answer.status_code == 503 and "scheduler is not running" in answer.json()["detail"]
    finally:
        db.close()


def test_the_backup_stage_mounts_the_page_in_the_console_navigation(tmp_path):
    from opsplan.stages import backup
    from opsplan.stages.part import StageContext

    plan = _plan(tmp_path)
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        ctx = StageContext(plan, db)
        console = Console(plan, None)
        ctx.provide(console)
        part_ = backup.build(ctx)
        assert any(getattr(route, "path", "") == "/backups" for r in part_.routers for route in r.routes)
        assert [n.path for n in console.nav] == ["/", "/alerts", "/backups"]
        assert backup.build(StageContext(plan, db)).routers == []  # no console: no page
    finally:
        db.close()


@pytest.mark.parametrize(("stored", "korean"), [
    ("mariabackup exited with 1: Access denied for user 'backup'@'localhost'", "MariaDB 로그인 거부"),
    ("database 127.0.0.1:3306 unreachable as backup: access denied", "MariaDB 로그인 거부"),
    ("database 127.0.0.1:3306 unreachable as backup: connection refused", "MariaDB에 접속할 수 없음"),
    ("mariabackup exited with 1: Can't connect to local server through socket", "MariaDB에 접속할 수 없음"),
    ("mariabackup exited with 2: InnoDB: Error: log block numbers mismatch", "mariabackup 실행 오류"),
    ("no backup to build an incremental on; take a full backup first", "증분 백업의 기준이 될 백업이 없음"),
    (catalog.INTERRUPTED, "백업 도중 중단됨"),
    ("RuntimeError: something nobody foresaw", "백업 실패"),
    (None, "원인이 기록되지 않음"),
])
def test_each_stored_backup_reason_has_a_korean_headline_and_keeps_its_words_as_detail(stored, korean):
    from opsplan.web.console.backups_view import backup_reason

    shown = backup_reason(stored, "ko")
    assert shown["headline"] is not None and shown["headline"].startswith(korean)
    assert shown["detail"] == stored


@pytest.mark.parametrize(("stored", "korean"), [
    ("backup.xbstream.zst of backup 4 does not match its blake2b-256 hash", "저장된 파일이 기록된 해시와 다름"),
    ("backup.xbstream.zst of backup 4 is missing", "저장된 파일이 없음"),
    ("backup.xbstream.zst of backup 4 has 10 bytes, the catalog says 20", "저장된 파일의 크기가 기록과 다름"),
    ("backup 4 has no stored files in the catalog", "카탈로그에 저장된 파일 기록이 없음"),
    ("zstd -d failed on backup 4: corrupted block", "검증 실패"),
])
def test_each_verify_failure_has_a_korean_headline(stored, korean):
    from opsplan.web.console.backups_view import verify_reason

    shown = verify_reason(stored, "ko")
    assert shown["headline"] is not None and shown["headline"].startswith(korean) and shown["detail"] == stored


def test_a_verify_that_ends_without_a_result_says_so_on_the_page(page):
    csrf = log_in(page.client, "ops01")
    # A stored file the kernel refuses to read (EIO at offset 0; a permission error would not stop
    # root): the re-hash raises OSError, which verify_backup does not turn into a recorded result.
    stream = page.rows.stream(2, "incremental")
    stream.unlink()
    stream.symlink_to("/proc/self/mem")
    with page.db.session() as s:
        catalog.get_backup(s, 2).files[0].size = 0
    page.client.post("/backups/database/2/verify", data={"csrf_token": csrf}, headers=ORIGIN)
    page.verifier.wait()
    row = text_of(part(page.client.get("/backups?lang=ko").text, "backup-2", "</tr>"))
    assert "검증을 끝내지 못함 (결과 기록 없음)" in row and "상세: OSError" in row
    with page.db.session() as s:
        assert catalog.get_backup(s, 2).verify_status is None
