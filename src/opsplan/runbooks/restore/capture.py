"""Per-table row counts and CHECKSUM TABLE of a backup, read from its prepared copy, never the live server.

Why here and not in the backup: figures read from the live server after mariabackup ends are of a
later moment than the backup's consistent point (a busy server gave false mismatches in drills),
and reading them is a full extra scan of every table on the production server. The prepared copy
*is* the consistent point, and scanning it costs only the backup machine's scratch space and CPU,
off the backup's critical path.

`capture_backup` unpacks the chain up to the backup (hashing each stored stream as it unpacks),
prepares it, starts a socket-only scratch server on it (`--skip-grant-tables --skip-networking`,
a 0700 directory: no password needed, nothing reachable), scans every user table and records the
figures against the backup (`backup_db_table`, `backup_db.tables_captured_at`). `opsplan serve`
runs it after each backup (`capture_jobs`); a drill records them itself when they are missing.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import DbBackupTable
from opsplan.backup.database.engine import database_root
from opsplan.backup.database.mariabackup import Mariabackup
from opsplan.backup.database.verify import prepare_chain
from opsplan.errors import OpsplanError, RunbookError
from opsplan.fsutil import ensure_space, private_dir, remove_quietly
from opsplan.jobs import Job
from opsplan.plan.models import Plan
from opsplan.runbooks.restore.integrity import (
    UNCAPTURED_SCHEMAS,
    TableCapture,
    default_workers,
    list_tables,
    run_table_tasks,
)
from opsplan.runbooks.restore.scratch import ScratchServer
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

# How often `serve` looks for a backup without a capture: soon after the nightly backup ends.
CAPTURE_CHECK = "*/10 * * * *"


@dataclass(frozen=True)
class CaptureResult:
    backup_id: int
    tables: int
    seconds: float


def scan_tables(connect_params: dict[str, Any], max_checksum_bytes: int, *,
                databases: list[str] | None = None, workers: int | None = None) -> list[TableCapture]:
    """Row count of every user table, CHECKSUM TABLE of those up to `max_checksum_bytes` (by size).

    A table that cannot be read is left out (logged): a drill reports it as not captured.
    """
    conn = pymysql.connect(**connect_params)
    try:
        with conn.cursor() as cur:
            present = [p for p in list_tables(cur, databases) if p[0] not in UNCAPTURED_SCHEMAS]
        tasks = []
        for schema, table, size in sorted(present, key=lambda p: -p[2]):  # biggest first
            if size <= max_checksum_bytes:
                tasks.append(("checksum", schema, table))
            tasks.append(("count", schema, table))
        answers = run_table_tasks(conn, connect_params, tasks, workers or default_workers())
    finally:
        conn.close()
    captures, unreadable = [], 0
    for schema, table, _size in present:
        rows = answers[("count", schema, table)]
        checksum = answers.get(("checksum", schema, table))
        if isinstance(rows, Exception) or isinstance(checksum, Exception):
            unreadable += 1
            continue
        captures.append(TableCapture(schema, table, rows, checksum))
    if unreadable:
        log.warning("table capture: %d table(s) could not be read on the prepared copy", unreadable)
    return captures


def record(state_db: StateDB, backup_id: int, captures: list[TableCapture], when: float) -> None:
    with state_db.session() as session:
        backup = catalog.get_backup(session, backup_id)
        catalog.record_tables(session, backup, [
            DbBackupTable(schema_name=c.schema, table_name=c.table, row_count=c.rows, checksum=c.checksum)
            for c in captures], when)


def capture_backup(plan: Plan, state_db: StateDB, backup_id: int, *, tool: Mariabackup | None = None,
                   clock: Callable[[], float] = time.time,
                   timer: Callable[[], float] = time.monotonic) -> CaptureResult:
    """Prepare `backup_id`'s chain on scratch space, scan it on a socket-only server, record the figures."""
    tool = tool or Mariabackup()
    started = timer()
    with state_db.session() as session:
        chain = catalog.chain_of(session, catalog.get_backup(session, backup_id))
        session.expunge_all()
    if chain[-1].status != catalog.OK:
        raise RunbookError(f"backup {backup_id} is {chain[-1].status}, not ok")
    parent = private_dir(Path(plan.recovery.scratch_dir or Path(plan.backup.directory) / ".scratch"))
    # The unpacked full plus one unpacked incremental at a time; say so before filling the disk.
    ensure_space(parent, int(((chain[0].bytes_read or 0) + max((b.bytes_read or 0 for b in chain[1:]), default=0))
                             * 1.1))
    scratch = Path(tempfile.mkdtemp(prefix=f"capture-{backup_id}-", dir=parent))
    socket_dir = Path(tempfile.mkdtemp(prefix="opsplan-capture-"))  # short: a unix socket path is 108 bytes
    server: ScratchServer | None = None
    try:
        prepared = prepare_chain(database_root(plan), chain, scratch / "unpack", tool, check_hash=True)
        server = ScratchServer(prepared, base_dir=scratch / "server", socket=socket_dir / "mysqld.sock",
                               buffer_pool="256M")
        server.start()
        captures = scan_tables(server.connect_params(), plan.backup.database.table_checksum_max_bytes)
    finally:
        if server is not None:
            server.stop()
        remove_quietly(scratch)
        remove_quietly(socket_dir)
    record(state_db, backup_id, captures, clock())
    result = CaptureResult(backup_id, len(captures), timer() - started)
    log.info("backup %d: %d table(s) captured from the prepared copy in %.1fs", backup_id, result.tables,
             result.seconds)
    return result


def capture_jobs(plan: Plan, state_db: StateDB, *, clock: Callable[[], float] = time.time) -> list[Job]:
    """`serve`: capture the newest backup's tables once it exists (none when `table_checksums` is off)."""
    if not plan.backup.database.table_checksums:
        return []
    failed: set[int] = set()  # tried once in this process: a broken backup is not prepared every 10 minutes

    def run() -> None:
        with state_db.session() as session:
            tip = catalog.uncaptured_tip(session)
            backup_id = tip.id if tip is not None else None
        if backup_id is None or backup_id in failed:
            return
        try:
            capture_backup(plan, state_db, backup_id, clock=clock)
        except (OpsplanError, OSError, pymysql.err.MySQLError) as exc:
            failed.add(backup_id)
            log.error("table capture of backup %d failed: %s", backup_id, exc)

    return [Job(name="capture-database-tables", cron=CAPTURE_CHECK, run=run)]
