"""Binary log archiving for point-in-time recovery: flush, copy each closed binlog, compress, hash, catalog.

One pass (`archive_binlogs`): `SELECT @@log_bin` (off: say so once, archive nothing) → `FLUSH
BINARY LOGS` (RELOAD or BINLOG ADMIN) → `SHOW BINARY LOGS` (BINLOG MONITOR): every file but the
last is closed → each closed file not archived yet is fetched with `mariadb-binlog
--read-from-remote-server --raw` (REPLICATION SLAVE; no access to the server's datadir needed),
its event header read for the first/last event times and positions, then stored zstd-compressed
and hashed as `<backup.directory>/binlogs/<name>.<id>.zst` (0600 in 0700 directories).

A catalog row is written 'running' before the copy starts and ends 'ok' or 'failed'; a failed or
killed copy leaves no file. A file name the server reuses (its binlogs restart at .000001 after a
restore onto an empty datadir) is told apart by its size and archived again as a new row. The
login reaches mariadb-binlog as an in-memory option file (`opsplan.mariadb.credentials`): no
password on its command line or on disk.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsplan import format as fmt
from opsplan.backup.database.catalog import FAILED, OK, RUNNING, all_backups
from opsplan.backup.database.server import connect
from opsplan.backup.restore_lock import skipped_for_restore
from opsplan.backup.stream import compress_to_file
from opsplan.errors import BackupError
from opsplan.fsutil import (
    LockBusy,
    private_dir,
    private_umask,
    remove_quietly,
    target_lock,
)
from opsplan.mariadb.credentials import MemoryFile, client_options
from opsplan.plan.models import Plan
from opsplan.plan.secrets import read_database_password
from opsplan.store.state import Base, StateDB

log = logging.getLogger(__name__)

TARGET = "binlogs"
WORK_DIR = ".work"
FETCH_TIMEOUT = 600.0
# What the archiving user needs beyond the backup grants (docs/recovery.md).
REQUIRED_PRIVILEGES = ("RELOAD", "BINLOG MONITOR", "REPLICATION SLAVE")
LOG_BIN_OFF = ("the server does not write binary logs (log_bin is OFF): point-in-time recovery is not "
               "possible; set log_bin in the server's configuration and restart it")


class BinlogArchive(Base):
    __tablename__ = "backup_binlog"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # the .000123 suffix, for gap checks
    server_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    stored_name: Mapped[str | None] = mapped_column(String(300))  # relative to <backup.directory>/binlogs
    raw_size: Mapped[int | None] = mapped_column(BigInteger)
    size: Mapped[int | None] = mapped_column(BigInteger)
    hash_algorithm: Mapped[str | None] = mapped_column(String(30))
    hash: Mapped[str | None] = mapped_column(String(128))
    first_event_at: Mapped[float | None] = mapped_column(Float)
    last_event_at: Mapped[float | None] = mapped_column(Float)
    first_position: Mapped[int | None] = mapped_column(BigInteger)
    last_position: Mapped[int | None] = mapped_column(BigInteger)
    end_position: Mapped[int | None] = mapped_column(BigInteger)
    pruned_at: Mapped[float | None] = mapped_column(Float)
    prune_reason: Mapped[str | None] = mapped_column(Text)


class BinlogArchiveStatus(Base):
    """One row (id 1): the archiver's last pass, for the metrics."""

    __tablename__ = "backup_binlog_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_success_at: Mapped[float | None] = mapped_column(Float)
    last_failure_at: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    log_bin_off_at: Mapped[float | None] = mapped_column(Float)


# --- the binlog file itself ---------------------------------------------------------------------

MAGIC = b"\xfebin"
_HEADER = struct.Struct("<IBIII H")  # timestamp, type, server_id, event_length, next_position, flags


@dataclass(frozen=True)
class BinlogSummary:
    server_id: int | None
    first_event_at: float | None
    last_event_at: float | None
    first_position: int
    last_position: int
    end_position: int
    events: int


def read_summary(path: Path) -> BinlogSummary:
    """Walk the v4 event headers (19 bytes each, then skip the body): cheap and exact.

    Times are the events' own (whole seconds, UTC epoch); the closing Rotate event carries the
    moment the file was flushed, so `last_event_at` is "complete up to". Events with timestamp 0
    (artificial ones a remote fetch may add) do not count for times.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(4) != MAGIC:
            raise BackupError(f"{path.name} is not a binary log (bad magic)")
        pos, first_at, last_at, server_id, last_pos, events = 4, None, None, None, 4, 0
        while pos + _HEADER.size <= size:
            f.seek(pos)
            stamp, _type, sid, length, _next, _flags = _HEADER.unpack(f.read(_HEADER.size))
            if length < _HEADER.size or pos + length > size:
                raise BackupError(f"{path.name}: truncated event at position {pos}")
            if stamp:
                first_at = float(stamp) if first_at is None else first_at
                last_at = float(stamp)
            server_id = sid if server_id is None and sid else server_id
            last_pos, events = pos, events + 1
            pos += length
    if pos != size:
        raise BackupError(f"{path.name}: {size - pos} trailing bytes after the last event")
    return BinlogSummary(server_id, first_at, last_at, 4, last_pos, size, events)


def sequence_of(name: str) -> int:
    match = re.search(r"\.(\d+)$", name)
    if not match:
        raise BackupError(f"{name}: not a binary log name (no .NNNNNN suffix)")
    return int(match.group(1))


# --- queries ------------------------------------------------------------------------------------

def binlog_root(plan: Plan) -> Path:
    return Path(plan.backup.directory) / TARGET


def archived(session: Session, *, include_pruned: bool = False) -> list[BinlogArchive]:
    """ok rows, oldest first."""
    query = select(BinlogArchive).where(BinlogArchive.status == OK)
    if not include_pruned:
        query = query.where(BinlogArchive.pruned_at.is_(None))
    return list(session.scalars(query.order_by(BinlogArchive.first_event_at, BinlogArchive.id)))


def all_rows(session: Session) -> list[BinlogArchive]:
    return list(session.scalars(select(BinlogArchive).order_by(BinlogArchive.id)))


def status_row(session: Session) -> BinlogArchiveStatus:
    row = session.get(BinlogArchiveStatus, 1)
    if row is None:
        row = BinlogArchiveStatus(id=1)
        session.add(row)
    return row


# --- one archiving pass -------------------------------------------------------------------------

@dataclass
class ArchivePass:
    log_bin: bool
    archived: list[str] = field(default_factory=list)  # names archived by this pass
    message: str | None = None


def _scrub(text: str, secret: str | None) -> str:
    line = " ".join(str(text).split())[:400]
    return line.replace(secret, "***") if secret else line


class BinlogArchiver:
    def __init__(self, plan: Plan, state_db: StateDB, *, environ: Mapping[str, str] = os.environ,
                 clock: Callable[[], float] = time.time, binary: str = "mariadb-binlog"):
        self.plan = plan
        self.state_db = state_db
        self.environ = environ
        self.clock = clock
        self.binary = binary
        self.root = binlog_root(plan)

    def recover(self) -> list[int]:
        """Called under the archiving lock, so every 'running' row is from a run that died: it becomes
        failed and its partial file goes."""
        found = []
        with self.state_db.session() as session:
            for row in session.scalars(select(BinlogArchive).where(BinlogArchive.status == RUNNING)):
                row.status, row.reason, row.finished_at = FAILED, "interrupted: the process died", self.clock()
                if row.stored_name:
                    remove_quietly(self.root / row.stored_name)
                    remove_quietly(self.root / (row.stored_name + ".partial"))
                found.append(row.id)
        # Under the lock nothing else uses the work dir: a killed pass's fetched files (and an earlier
        # version's option file, which held the password) go.
        work = self.root / WORK_DIR
        if work.is_dir():
            for leftover in work.iterdir():
                remove_quietly(leftover)
        return found

    def run(self) -> ArchivePass:
        """One pass; raises BackupError (recorded in the status row) when it cannot finish."""
        password: str | None = None
        try:
            password = read_database_password(self.plan.database, self.environ)
            with target_lock(private_dir(self.root), TARGET):
                self.recover()
                result = self._pass(password)
        except BackupError as exc:
            skipped = skipped_for_restore(exc, "binlog archiving") if isinstance(exc, LockBusy) else None
            if skipped is not None:
                raise skipped from None  # the restore holds the archive: not a failure
            message = _scrub(str(exc), password)
            self._record(failure=message)
            raise BackupError(f"binlog archiving failed: {message}") from None
        self._record(log_bin_off=not result.log_bin)
        if result.log_bin:
            prune_binlogs(self.plan, self.state_db, clock=self.clock)
        return result

    def _record(self, *, failure: str | None = None, log_bin_off: bool = False) -> None:
        now = self.clock()
        with self.state_db.session() as session:
            row = status_row(session)
            if failure is not None:
                row.last_failure_at, row.last_error = now, failure
            elif log_bin_off:
                row.log_bin_off_at = now
            else:
                row.last_success_at, row.log_bin_off_at = now, None

    def _pass(self, password: str | None) -> ArchivePass:
        conn = connect(self.plan.database, password)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT @@log_bin, @@server_id")
                log_bin, server_id = cur.fetchone()
                if not int(log_bin):
                    return ArchivePass(log_bin=False, message=LOG_BIN_OFF)
                cur.execute("FLUSH BINARY LOGS")
                cur.execute("SHOW BINARY LOGS")
                listed = [(str(r[0]), int(r[1])) for r in cur.fetchall()]
        except BackupError:
            raise
        except Exception as exc:  # noqa: BLE001 - a missing grant or a lost connection, in one line
            raise BackupError(f"{type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
        closed = listed[:-1]  # the last one is the file the server writes now
        with self.state_db.session() as session:
            done = {(r.name, r.raw_size) for r in archived(session, include_pruned=True)}
        todo = [(name, size) for name, size in closed if (name, size) not in done]
        result = ArchivePass(log_bin=True)
        if not todo:
            return result
        work = private_dir(self.root / WORK_DIR)
        with client_options(self.plan.database, password) as credentials:
            for name, size in todo:
                self._archive_one(credentials, name, size, int(server_id), work, password)
                result.archived.append(name)
        return result

    def _archive_one(self, credentials: MemoryFile, name: str, size: int, server_id: int, work: Path,
                     password: str | None) -> None:
        with self.state_db.session() as session:
            row = BinlogArchive(name=name, sequence=sequence_of(name), server_id=server_id, status=RUNNING,
                                pid=os.getpid(), started_at=self.clock())
            session.add(row)
            session.flush()
            row_id = row.id
            row.stored_name = stored = f"{name}.{row_id}.zst"
        fetch_dir = Path(tempfile.mkdtemp(prefix="fetch-", dir=work))
        try:
            raw = self._fetch(credentials, name, fetch_dir, password)
            summary = read_summary(raw)
            with open(raw, "rb") as source:
                kept = compress_to_file(source, self.root / stored,
                                        level=self.plan.backup.database.compression_level, threads=1)
        except BaseException as exc:
            remove_quietly(self.root / stored)
            remove_quietly(self.root / (stored + ".partial"))
            reason = _scrub(str(exc) if isinstance(exc, BackupError) else f"{type(exc).__name__}: {exc}", password)
            with self.state_db.session() as session:
                failed = session.get(BinlogArchive, row_id)
                assert failed is not None
                failed.status, failed.reason, failed.finished_at = FAILED, reason, self.clock()
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise BackupError(f"{name}: {reason}") from None
        finally:
            shutil.rmtree(fetch_dir, ignore_errors=True)
        with self.state_db.session() as session:
            done = session.get(BinlogArchive, row_id)
            assert done is not None
            row = done
            row.status, row.finished_at = OK, self.clock()
            row.raw_size, row.size = summary.end_position, kept.bytes_stored
            row.hash_algorithm, row.hash = kept.hash_algorithm, kept.hash
            row.first_event_at, row.last_event_at = summary.first_event_at, summary.last_event_at
            row.first_position, row.last_position = summary.first_position, summary.last_position
            row.end_position = summary.end_position
            row.server_id = summary.server_id or server_id
        if summary.end_position != size:
            log.warning("binlog %s: fetched %d bytes, SHOW BINARY LOGS said %d", name, summary.end_position, size)
        log.info("binlog %s archived: %d bytes, %d stored", name, summary.end_position, kept.bytes_stored)

    def _fetch(self, credentials: MemoryFile, name: str, dest: Path, password: str | None) -> Path:
        binary = shutil.which(self.binary) or shutil.which(self.binary, path="/usr/bin:/usr/local/bin")
        if not binary:
            raise BackupError(f"{self.binary} is not installed (Debian package mariadb-client)")
        args = [binary, credentials.defaults_option,  # must come first
                "--read-from-remote-server", "--raw", f"--result-file={dest}/", name]
        try:
            with private_umask():
                res = subprocess.run(args, capture_output=True, text=True, timeout=FETCH_TIMEOUT, check=False,
                                     stdin=subprocess.DEVNULL, pass_fds=credentials.pass_fds)
        except subprocess.TimeoutExpired:
            raise BackupError(f"mariadb-binlog did not fetch {name} within {FETCH_TIMEOUT:.0f}s") from None
        path = dest / name
        if res.returncode != 0 or not path.is_file():
            text = (res.stderr or res.stdout).strip().splitlines()
            raise BackupError(f"mariadb-binlog exited with {res.returncode} fetching {name}: "
                              f"{_scrub(text[-1] if text else 'no output', password)}")
        os.chmod(path, 0o600)
        return path


def archive_binlogs(plan: Plan, state_db: StateDB, *, environ: Mapping[str, str] = os.environ,
                    clock: Callable[[], float] = time.time) -> ArchivePass:
    """One archiving pass now (`opsplan backup archive-binlogs`, and the serve job)."""
    return BinlogArchiver(plan, state_db, environ=environ, clock=clock).run()


# --- retention ----------------------------------------------------------------------------------

def prune_binlogs(plan: Plan, state_db: StateDB, *, clock: Callable[[], float] = time.time,
                  dry_run: bool = False) -> list[str]:
    """Remove archived binlogs no kept backup can replay: older than the oldest kept backup.

    A file goes when its last event is before the oldest kept ok backup's start and its sequence is
    below that backup's binlog file (when recorded). With no kept backup nothing goes: the binlogs
    are then the only copy. Failed rows lose any leftover file. Returns the names removed.
    """
    root = binlog_root(plan)
    now = clock()
    removed: list[str] = []
    with state_db.session() as session:
        kept = [b for b in all_backups(session) if b.status == OK]
        if not kept:
            return removed
        oldest = min(kept, key=lambda b: b.started_at)
        keep_from = sequence_of(oldest.binlog_file) if oldest.binlog_file else None
        for row in archived(session):
            if row.last_event_at is None or row.last_event_at >= oldest.started_at:
                continue
            if keep_from is not None and row.sequence >= keep_from:
                continue
            removed.append(row.name)
            if dry_run:
                continue
            if row.stored_name:
                remove_quietly(root / row.stored_name)
            row.pruned_at = now
            row.prune_reason = f"older than the oldest kept backup {oldest.id}"
        if not dry_run:
            for row in session.scalars(select(BinlogArchive).where(BinlogArchive.status == FAILED)):
                if row.stored_name:
                    remove_quietly(root / row.stored_name)
    for name in removed:
        log.info("retention: %s archived binlog %s", "would remove" if dry_run else "removed", name)
    return removed


def row_json(row: BinlogArchive, tz: str) -> dict[str, Any]:
    def local(ts: float | None) -> str | None:
        return fmt.local_time(ts, tz, zone_name=True, missing=None)

    return {
        "id": row.id, "file": row.name, "server_id": row.server_id, "status": row.status, "reason": row.reason,
        "first_event": local(row.first_event_at), "last_event": local(row.last_event_at),
        "first_event_at": row.first_event_at, "last_event_at": row.last_event_at,
        "first_position": row.first_position, "last_position": row.last_position,
        "end_position": row.end_position, "size": row.raw_size, "stored_size": row.size,
        "hash": f"{row.hash_algorithm}:{row.hash}" if row.hash else None, "stored": row.stored_name,
        "pruned": local(row.pruned_at), "prune_reason": row.prune_reason,
    }
