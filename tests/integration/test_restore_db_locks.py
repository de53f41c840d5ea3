"""A restore holds the backup locks: a backup or binlog pass that starts meanwhile skips with one
line (no failed row), the restore's own steps are not blocked by its own locks, and a restore does
not start while a backup runs."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import pytest
import test_backup_db
import test_restore_db
from test_restore_db import insert_rows, run_restore

from opsplan.backup.binlogs.archive import BinlogArchiver, status_row
from opsplan.backup.binlogs.jobs import binlog_jobs
from opsplan.backup.database.jobs import database_jobs
from opsplan.errors import BackupSkipped
from opsplan.fsutil import target_lock
from opsplan.runbooks.model import RunContext, StepResult
from opsplan.runbooks.restore.database import build
from opsplan.runbooks.restore.locks import RestoreLocks

pytestmark = pytest.mark.mariadb

setup_factory = test_backup_db.setup_factory
restore_setup = test_restore_db.restore_setup


@pytest.fixture
def target_base():
    base = Path(tempfile.mkdtemp(prefix="opsplan-rl-", dir="/tmp"))  # short: sockets live here
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_backup_and_binlog_pass_skip_while_a_restore_holds_the_locks(setup_factory, caplog):
    setup = setup_factory()
    insert_rows(setup.server, 1, 3)
    locks = RestoreLocks(setup.plan)
    locks.acquire(7)  # what a restore does from its first step to its end
    try:
        result = setup.run_cli("db")
        assert result.returncode != 0
        assert "skipped" in result.stderr and "database restore (run 7)" in result.stderr
        assert setup.rows() == []  # nothing was attempted: no failed backup to alert on

        with pytest.raises(BackupSkipped, match=r"binlog archiving skipped: database restore \(run 7\)"):
            BinlogArchiver(setup.plan, setup.state, environ=setup.environ).run()
        with setup.state.session() as session:
            assert status_row(session).last_failure_at is None

        with caplog.at_level(logging.WARNING):  # the scheduled jobs say it once, as a warning
            for job in [*database_jobs(setup.plan, setup.state, environ=setup.environ),
                        *binlog_jobs(setup.plan, setup.state, environ=setup.environ)]:
                job.run()
        skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
        assert len(skipped) == 2 and all(r.levelno == logging.WARNING for r in skipped)
        assert setup.rows() == []
    finally:
        locks.release()
    assert setup.engine().run("full").status == "ok"  # free again once the restore ends


def test_a_restore_holds_the_locks_through_its_steps_and_releases_them(restore_setup, target_base):
    setup, _ = restore_setup()
    insert_rows(setup.server, 1, 5)
    assert setup.engine().run("full").status == "ok"
    params = {"target_datadir": str(target_base / "data")}
    runbook = build(setup.plan, setup.state, params, environ=setup.environ)
    verify = runbook.steps[2]
    seen: list[str] = []

    def backup_during_verify(ctx: RunContext) -> StepResult:
        try:
            setup.engine().run("full")
            seen.append("backup ran")
        except BackupSkipped as exc:
            seen.append(str(exc))
        return original(ctx)

    original, verify.action = verify.action, backup_during_verify
    from opsplan.runbooks.engine import RunbookEngine

    outcome = RunbookEngine(setup.plan, setup.state, environ=setup.environ, actor="test@host").run(
        runbook, params, yes=True)

    assert outcome.status == "ok", (outcome.failed_step, outcome.reason)
    assert len(seen) == 1 and "database backup skipped: database restore (run" in seen[0]
    assert [r.status for r in setup.rows()] == ["ok"]
    assert setup.engine().run("incremental").status == "ok"  # released at the end


def test_a_restore_does_not_start_while_a_backup_runs(restore_setup, target_base):
    setup, _ = restore_setup()
    insert_rows(setup.server, 1, 5)
    assert setup.engine().run("full").status == "ok"

    with target_lock(setup.root(), "database"):  # a backup in progress
        outcome = run_restore(setup, {"target_datadir": str(target_base / "data")})

    assert outcome.failed_step == "stop_service"
    assert "cannot restore now" in outcome.reason and "already running" in outcome.reason
    assert not (target_base / "data").exists()
