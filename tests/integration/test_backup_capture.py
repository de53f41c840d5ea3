"""Per-table figures are captured from the backup's prepared copy, not the live server (issue 10 item 2).

A backup taken while rows are written must not give the drill a false mismatch; a real difference
between the capture and the restored data still fails it.
"""

from __future__ import annotations

import threading
import time

import pytest
import test_backup_db
from test_backup_db import insert_rows

from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import DbBackupTable
from opsplan.runbooks.drill.database import run_drill
from opsplan.runbooks.restore.capture import capture_jobs

pytestmark = pytest.mark.mariadb
setup_factory = test_backup_db.setup_factory


class Writer(threading.Thread):
    """Inserts and updates rows of shop.orders until stopped, as a busy application would."""

    def __init__(self, server, first_id: int) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.next_id = first_id
        self.stop_event = threading.Event()
        self.writes = 0

    def run(self) -> None:
        conn = self.server.root_connect()
        try:
            with conn.cursor() as cur:
                while not self.stop_event.is_set():
                    cur.execute("INSERT INTO shop.orders VALUES (%s, %s)", (self.next_id, f"busy {self.next_id}"))
                    cur.execute("UPDATE shop.orders SET note = CONCAT('touched ', %s) WHERE id = %s",
                                (self.next_id, 1 + self.next_id % 50))
                    conn.commit()
                    self.next_id += 1
                    self.writes += 1
        finally:
            conn.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


def _orders_capture(setup, backup_id: int) -> DbBackupTable:
    with setup.state.session() as session:
        backup = catalog.get_backup(session, backup_id)
        assert backup.tables_captured_at is not None
        row = next(t for t in backup.tables if (t.schema_name, t.table_name) == ("shop", "orders"))
        session.expunge(row)
        return row


def test_writes_during_the_backup_give_no_false_mismatch_in_the_drill(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 50)
    writer = Writer(setup.server, 1000)
    writer.start()
    try:
        while writer.writes < 20:  # the writes are under way before the backup starts
            time.sleep(0.01)
        full = setup.engine().run("full")
        during = writer.writes
        while writer.writes < during + 20:  # and go on after it ended, before anything is captured
            time.sleep(0.01)
    finally:
        writer.stop()
    assert full.status == "ok"
    assert full.tables == [] and full.tables_captured_at is None  # nothing read on the live server

    [job] = capture_jobs(setup.plan, setup.state)  # what `serve` runs after a backup
    job.run()
    orders = _orders_capture(setup, full.id)
    live_rows = int(setup.server.execute("SELECT COUNT(*) FROM shop.orders")[0][0])
    # The capture is the backup's consistent point: fewer rows than the server holds now.
    assert orders.row_count is not None and 50 < orders.row_count < live_rows
    assert orders.checksum is not None

    result = run_drill(setup.plan, setup.state, {}, environ=setup.environ, clock=time.time)
    assert result["status"] == "ok", result["reason"]
    assert result["capture_recorded"] is False
    restored = next(x for x in result["tables"] if x["name"] == "shop.orders")
    assert restored["captured"] and restored["ok"]
    assert restored["rows_actual"] == restored["rows_expected"] == orders.row_count
    assert restored["checksum_actual"] == restored["checksum_expected"] == orders.checksum


def test_a_capture_that_disagrees_with_the_restored_data_still_fails_the_drill(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 12)
    full = setup.engine().run("full")
    [job] = capture_jobs(setup.plan, setup.state)
    job.run()
    with setup.state.session() as session:  # as if the restored data were not what the backup held
        row = session.query(DbBackupTable).filter_by(backup_id=full.id, table_name="orders").one()
        row.row_count = (row.row_count or 0) + 1
    result = run_drill(setup.plan, setup.state, {}, environ=setup.environ, clock=time.time)
    assert (result["status"], result["failed_step"]) == ("failed", "verify")
    assert "shop.orders: rows 12 != 13 at backup time" in result["reason"]


def test_no_capture_job_when_the_plan_turns_table_checksums_off(setup_factory):
    setup = setup_factory(table_checksums=False)
    assert capture_jobs(setup.plan, setup.state) == []


def test_the_capture_command_records_the_newest_backup(setup_factory):
    import json

    setup = setup_factory()
    insert_rows(setup.server, 1, 7)
    full = setup.engine().run("full")
    res = setup.run_cli("capture", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["id"] == full.id
    assert _orders_capture(setup, full.id).row_count == 7
    listed = json.loads(setup.run_cli("list", "--json").stdout)
    assert [(b["id"], b["tables_captured"] is not None, b["tables"]) for b in listed] == [(full.id, True, 1)]
