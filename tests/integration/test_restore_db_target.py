"""`restore db --target-datadir/--target-port` (the drill's way in) and `--time` (point in time).

Both restore into a new directory checked on a scratch server; the running server must not notice.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
import test_backup_db
import test_restore_db
from test_restore_db import ids, insert_rows, run_restore, three_backups

from mariadb_server import MariaDBServer, free_port
from opsplan.backup.binlogs.archive import archive_binlogs
from opsplan.i18n import t

pytestmark = pytest.mark.mariadb

setup_factory = test_backup_db.setup_factory
restore_setup = test_restore_db.restore_setup


@pytest.fixture
def target_base():
    base = Path(tempfile.mkdtemp(prefix="opsplan-rt-", dir="/tmp"))  # short: sockets live here
    yield base
    shutil.rmtree(base, ignore_errors=True)


def read_restored(base: Path, sql: str) -> list[tuple[object, ...]]:
    """Start a plain throwaway server on the restored `base/data` and run one query."""
    server = MariaDBServer(base_dir=base)
    try:
        server.start()
        return server.execute(sql)
    finally:
        server.stop()


def test_target_restore_leaves_the_running_server_untouched(restore_setup, target_base):
    setup, service = restore_setup()
    three_backups(setup)
    insert_rows(setup.server, 100, 4)  # only in the running server
    pid_before = setup.server.pid
    datadir_entries = sorted(p.name for p in setup.server.datadir.parent.iterdir())
    port = free_port()

    outcome = run_restore(setup, {"target_datadir": str(target_base / "data"), "target_port": port})

    assert outcome.status == "ok", (outcome.failed_step, outcome.reason)
    assert setup.server.pid == pid_before and setup.server.running
    assert ids(setup.server)[-4:] == [100, 101, 102, 103]
    assert sorted(p.name for p in setup.server.datadir.parent.iterdir()) == datadir_entries
    stop_step = next(s for s in outcome.steps if s["name"] == "stop_service")
    assert stop_step["output"] == t("restore.db.untouched", setup.plan.language, datadir=target_base / "data")
    assert outcome.data["integrity"]["ok"]
    rows = read_restored(target_base, "SELECT id FROM shop.orders ORDER BY id")
    assert [int(r[0]) for r in rows] == list(range(1, 23))


def test_target_must_be_new_or_empty(restore_setup, target_base):
    setup, _ = restore_setup()
    insert_rows(setup.server, 1, 3)
    assert setup.engine().run("full").status == "ok"
    (target_base / "data").mkdir()
    (target_base / "data" / "precious.txt").write_text("keep me")

    outcome = run_restore(setup, {"target_datadir": str(target_base / "data")})

    # the reason in the plan's language (the catalogue's, as the journal keeps it)
    not_empty = t("reason.target_not_empty", setup.plan.language, path=target_base / "data")
    assert outcome.failed_step == "restore_backup" and not_empty in outcome.reason
    assert (target_base / "data" / "precious.txt").read_text() == "keep me"


def test_point_in_time_restore_holds_the_first_write_and_not_the_second(restore_setup, target_base):
    setup, _ = restore_setup()
    for host in ("localhost", "127.0.0.1"):  # what binlog archiving adds to the backup grants
        setup.server.execute(f"GRANT REPLICATION SLAVE ON *.* TO 'backup'@'{host}'")
    insert_rows(setup.server, 1, 3)
    assert setup.engine().run("full").status == "ok"
    setup.server.execute("INSERT INTO shop.orders VALUES (1001, 'row A')")
    between = time.time()
    time.sleep(1.1)
    setup.server.execute("INSERT INTO shop.orders VALUES (1002, 'row B')")
    archive_binlogs(setup.plan, setup.state, environ=setup.environ)

    outcome = run_restore(setup, {"time": between, "time_text": "between A and B",
                                  "target_datadir": str(target_base / "data")})

    assert outcome.status == "ok", (outcome.failed_step, outcome.reason)
    assert outcome.data["replayed_binlogs"] >= 1 and outcome.data["integrity_after_replay"]["ok"]
    rows = read_restored(target_base, "SELECT id FROM shop.orders ORDER BY id")
    assert [int(r[0]) for r in rows] == [1, 2, 3, 1001]


@pytest.mark.parametrize("args, message", [
    (["--time", "yesterday"], "--time 'yesterday'"),
    (["--backup", "1", "--time", "2026-11-20 14:00"], "--backup and --time exclude each other"),
    (["--target-port", "3310"], "--target-port needs --target-datadir"),
])
def test_bad_arguments_are_one_line_and_start_nothing(tmp_path, args, message):
    from typer.testing import CliRunner

    import yaml_writer
    from opsplan.cli.main import app

    plan = yaml_writer.write_plan(tmp_path, {})
    result = CliRunner().invoke(app, ["--plan", str(plan), "restore", "db", *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "data" / "audit.log").exists()
