"""Issue 12's browser test for the runbooks page: an admin starts a drill on a throwaway MariaDB and
watches its steps; and an admin restores it into a target directory. A real `opsplan serve` whose
plan points at a private MariaDB server (a least-privilege backup user and one full backup made by
`opsplan backup db --full`), Debian's chromium through Playwright: the admin presses "run a drill
now" on /runbooks, the run appears without a reload, and its page shows the steps progressing
(htmx swaps them in) to a passed drill with the RTO and RPO it measured. The restore form refuses
a wrong password and then restores with the right one and the server's name typed. The audit log
names the admin."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import yaml_writer
from browser import artifacts, chromium, log_in  # noqa: F401
from mariadb_server import MariaDBServer
from opsplan.audit import entries
from opsplan.store.state import StateDB
from serve_process import TEST_PASSWORD, add_user, start_serve, wait_for_cycles
from unit.test_korean_text import english_words

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.mariadb]

PASSWORD_ENV = "OPSPLAN_TEST_CONSOLE_DRILL_PASSWORD"
DB_PASSWORD = "Pw-s3cret-console-drill-51d"  # distinctive: a leak onto a page is a plain search away
BACKUP_GRANTS = "RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SELECT"
STARTED, ALREADY = "백업 복구 테스트를 시작했습니다", "이미 실행 중이어서"  # the first-drill job may have begun it


def _backup_user(server: MariaDBServer) -> None:
    # By hash: the clear password must not sit in the server's own binlog.
    [(hashed,)] = server.execute("SELECT PASSWORD(%s)", (DB_PASSWORD,))
    for host in ("localhost", "127.0.0.1"):
        server.execute(f"CREATE USER IF NOT EXISTS 'backup'@'{host}' IDENTIFIED BY PASSWORD %s", (hashed,))
        server.execute(f"GRANT {BACKUP_GRANTS} ON *.* TO 'backup'@'{host}'")
    server.execute("CREATE DATABASE IF NOT EXISTS shop")
    server.execute("CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB")
    # Enough rows that the drill takes a few seconds (its copy, CHECK TABLE and checksums): long
    # enough for a person, or this test, to watch it run.
    server.execute("INSERT INTO shop.orders SELECT seq, CONCAT('order ', seq) FROM shop.seq_1_to_300000")


@pytest.fixture
def drill_console(mariadb_server_factory: Any, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(url, data dir) of a Korean serve over a throwaway MariaDB with one full backup and an admin."""
    server = mariadb_server_factory()
    _backup_user(server)
    fields = server.database_plan_fields(use_socket=True)
    fields.update(user="backup", password_env=PASSWORD_ENV, datadir=str(fields["datadir"]),
                  socket=str(fields["socket"]))
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "ko", "services": [], "database": fields,
        "backup": {"directory": str(tmp_path / "backups"), "database": {"compression_level": 3}}})
    env = {PASSWORD_ENV: DB_PASSWORD}
    backup = subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(plan), "backup", "db", "--full"],
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False)
    assert backup.returncode == 0, backup.stdout + backup.stderr
    add_user(plan, "admin01", "admin")
    proc, url = start_serve(plan, env=env)
    try:
        wait_for_cycles(url, 1, timeout=60)
        yield url, tmp_path / "data"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a stuck serve must not hang the suite
            proc.kill()


def _listed(page: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The newest drill's status on the runs list and its live steps (shown while it runs)."""
    row = page.locator("#run-list tr[data-kind='drill-db']")
    if row.count() == 0:
        return "", ()
    run_id = str(row.first.get_attribute("id")).removeprefix("run-")
    steps = page.locator(f"#live-{run_id} tr.step").evaluate_all(
        "rows => rows.map(r => [r.dataset.step, r.dataset.status])")
    return str(row.first.get_attribute("data-status")), tuple((str(a), str(b)) for a, b in steps)


def _steps(page: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The run's status and (step, status) of every step row, as the page shows them now."""
    status = page.locator("#run-live").get_attribute("data-status") or ""
    rows = page.locator("#run-live tr.step").evaluate_all(
        "rows => rows.map(r => [r.dataset.step, r.dataset.status])")
    return status, tuple((str(a), str(b)) for a, b in rows)


def test_an_admin_starts_a_drill_on_a_throwaway_mariadb_and_watches_its_steps(chromium, drill_console,  # noqa: F811
                                                                              tmp_path):
    url, data_dir = drill_console
    context = chromium.new_context(locale="ko-KR")
    page = context.new_page()
    log_in(page, url, "admin01")
    page.goto(url + "runbooks?lang=ko")
    with page.expect_navigation():
        page.click("#drill-form button")
    message = page.locator("#drill-message").inner_text()
    assert STARTED in message or ALREADY in message, message
    # The run shows up on the same page without a reload: htmx refreshes the runs while the job runs,
    # with the steps of a run in progress under the list.
    seen = [_listed(page)]
    deadline = time.time() + 300
    while seen[-1][0] in ("", "running") and time.time() < deadline:
        page.wait_for_timeout(300)  # no reload: whatever changes, htmx swapped in
        if (now := _listed(page)) != seen[-1]:
            seen.append(now)
    run_id = page.locator("#run-list tr[data-kind='drill-db']").first.get_attribute("id").removeprefix("run-")
    with page.expect_navigation():
        page.click(f"#run-{run_id} th a")
    assert page.url.startswith(url + f"runbooks/{run_id}")
    page.wait_for_selector("#run-live:not([data-status='running'])", timeout=300_000)
    status, steps = _steps(page)
    page.screenshot(path=str(artifacts(tmp_path) / "runbooks-drill.png"), full_page=True)
    assert status == "ok", (seen, page.inner_text("#run-live")[:2000])
    # Progress as a person watching saw it: running, with its steps so far, then done.
    running = [steps_then for status_then, steps_then in seen if status_then == "running"]
    assert running and seen[-1][0] == "ok", seen
    assert len(running[0]) < len(steps), seen
    names = [name for name, _ in steps]
    assert names[0] == "select_chain" and "verify" in names and names[-1] == "finally", names
    assert all(step_status == "ok" for _, step_status in steps), steps
    # What the drill measured, against the plan's targets (seed §4.1: RTO 4 hours, RPO 24 hours).
    rto = page.locator("#figure-rto").inner_text()
    assert "4시간" in rto and "목표 충족" in rto and re.search(r"\d+(\.\d+)?초|\d+분", rto), rto
    assert "목표 충족" in page.locator("#figure-rpo").inner_text()
    body = page.inner_text("body")
    assert DB_PASSWORD not in page.content()
    # The page reads as Korean: the step output lines are the tools' own words, the actor a name.
    if STARTED in message:  # who pressed, not "the schedule"
        assert "admin01 (콘솔에서 요청)" in page.inner_text("#run-facts")
    outside_output = page.evaluate("""() => { const c = document.body.cloneNode(true);
        c.querySelectorAll('pre.output, #run-reason').forEach(e => e.remove()); return c.innerText; }""")
    assert english_words(outside_output) == [], body
    state = StateDB.open(f"sqlite:///{data_dir / 'state.db'}")
    try:
        starts = [(e["actor"], e["outcome"]) for e in entries(state) if e["action"] == "drill.start"]
    finally:
        state.close()
    assert starts and starts[0][0] == "admin01", starts
    context.close()


@pytest.fixture
def target_base() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="opsplan-rt-", dir="/tmp"))  # short: the scratch socket lives here
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_an_admin_restores_into_a_target_directory_after_typing_the_password_and_the_name(
        chromium, drill_console, target_base):  # noqa: F811
    url, data_dir = drill_console
    context = chromium.new_context(locale="ko-KR")
    page = context.new_page()
    log_in(page, url, "admin01")
    page.goto(url + "runbooks?lang=ko")
    target = target_base / "data"
    page.fill("#restore-target", str(target))
    page.fill("#restore-password", "not my password at all")
    page.fill("#restore-confirm", "ai-server-01")
    with page.expect_navigation() as refused:
        page.click("#restore-form button")
    assert refused.value.status == 403
    assert "비밀번호가 틀려 복원을 시작하지 않았습니다" in page.inner_text("#restore-error")
    assert page.input_value("#restore-target") == str(target) and page.input_value("#restore-password") == ""
    assert page.locator("#run-list tr[data-kind='restore-db']").count() == 0 and not target.exists()

    page.fill("#restore-password", TEST_PASSWORD)
    page.fill("#restore-confirm", "ai-server-01")
    with page.expect_navigation():
        page.click("#restore-form button")
    assert re.search(r"/runbooks/\d+\?lang=ko$", page.url), page.url
    page.wait_for_selector("#run-live:not([data-status='running'])", timeout=300_000)
    status, steps = _steps(page)
    assert status == "ok", page.inner_text("#run-live")[:2000]
    names = [name for name, step_status in steps if step_status == "ok"]
    assert names[:4] == ["stop_service", "restore_backup", "verify_consistency", "restart_service"], steps
    assert "admin01" in page.inner_text("#run-facts") and (target / "shop").is_dir()
    state = StateDB.open(f"sqlite:///{data_dir / 'state.db'}")
    try:
        actions = [(e["actor"], e["action"]) for e in entries(state) if e["action"].startswith("restore.")]
    finally:
        state.close()
    assert actions == [("admin01", "restore.start"), ("admin01", "restore.refused")], actions
    context.close()
