"""MariaDB backups with mariabackup: full or incremental, one pass from the server to a compressed, hashed file.

Order of a run: recover rows of killed runs → catalog row 'running' → lock → preflight (password,
server, chain rule, space) → mariabackup --stream=xbstream | zstd | hash → checkpoints and binlog
position from --extra-lsndir → row 'ok'. The live server's tables are not scanned: their row counts
and checksums are captured later from the prepared copy (runbooks/restore/capture.py), off the
backup's critical path and at the backup's own consistent point. Any failure on the way, the preflight
included, ends the row as 'failed' with one line and removes that backup's directory.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import (
    FAILED,
    FULL,
    INCREMENTAL,
    OK,
    RUNNING,
    DbBackup,
    DbBackupFile,
)
from opsplan.backup.database.mariabackup import (
    Mariabackup,
    first_error,
    parse_checkpoints,
    parse_info,
    sweep_legacy_option_dirs,
)
from opsplan.backup.database.server import connect, server_version
from opsplan.backup.hashing import ALGORITHM, hash_file
from opsplan.backup.progress import progress
from opsplan.backup.restore_lock import skipped_for_restore
from opsplan.backup.stream import Stored, compress_to_file, widen_pipe
from opsplan.backup.stream_zstd import compress_with_zstd, zstd_binary
from opsplan.errors import REPEATED_AS_ERROR, BackupError, OpsplanError
from opsplan.fsutil import (
    LockBusy,
    directory_bytes,
    ensure_space,
    is_disk_full,
    open_private,
    private_dir,
    private_umask,
    process_start_time,
    remove_quietly,
    target_lock,
)
from opsplan.jobs import missed_since
from opsplan.mariadb.credentials import client_options
from opsplan.plan.models import Plan
from opsplan.plan.secrets import read_database_password
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

TARGET = catalog.DATABASE_TARGET
STREAM_FILE = "backup.xbstream.zst"
LSN_DIR = "lsn"
WORK_DIR = ".work"
SPACE_MARGIN = 1.2  # estimates are from the last run; the database grows


def database_root(plan: Plan) -> Path:
    """Where database backups live: <backup.directory>/database."""
    return Path(plan.backup.directory) / TARGET


def choose_kind(plan: Plan, requested: str, tip: DbBackup | None, chain_len: int,
                last_full: DbBackup | None, now: float) -> tuple[str, str]:
    """(kind, why) for this run. 'auto' follows the plan: a full when none exists, when the
    full schedule has fired since the last full, or when the chain is at max_chain_length."""
    settings = plan.backup.database
    if requested == FULL:
        return FULL, "asked for a full backup"
    if requested == INCREMENTAL:
        if tip is None:
            raise BackupError("no backup to build an incremental on; take a full backup first")
        return INCREMENTAL, "asked for an incremental backup"
    if settings.method == "full":
        return FULL, "the plan's method is full"
    if tip is None or last_full is None:
        return FULL, "no chain yet"
    if chain_len - 1 >= settings.max_chain_length:
        return FULL, f"the chain has {chain_len - 1} incrementals (max_chain_length {settings.max_chain_length})"
    if missed_since(settings.full_schedule, last_full.started_at, now, plan.timezone) is not None:
        return FULL, "the full schedule has come round since the last full"
    return INCREMENTAL, "the schedule's daily incremental"


def scrub(text: str, secret: str | None) -> str:
    """A message never carries the password, whatever a tool printed."""
    one_line = " ".join(str(text).split())[:400]
    return one_line.replace(secret, "***") if secret else one_line


@dataclass
class _Attempt:
    row_id: int
    kind: str
    parent: DbBackup | None
    directory: Path


class DatabaseBackupEngine:
    """Takes database backups for one plan; everything external is passed in."""

    def __init__(
        self,
        plan: Plan,
        state_db: StateDB,
        *,
        environ: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.time,
        tool: Mariabackup | None = None,
        progress_stream: TextIO | None = None,
        trigger: str = "manual",
    ):
        self.plan = plan
        self.state_db = state_db
        self.environ = environ
        self.clock = clock
        self.tool = tool or Mariabackup()
        self.progress_stream = progress_stream
        self.trigger = trigger
        self.root = database_root(plan)

    # --- start-up: runs that were killed ---------------------------------------------------------

    def recover(self) -> list[int]:
        """Mark 'running' rows of dead processes failed and remove their partial files."""
        found = catalog.mark_interrupted(self.state_db, self.clock)
        self._sweep_legacy_credentials()
        for row in found:
            if row.directory:
                remove_quietly(self.root / row.directory)
            log.warning("database backup %d was interrupted (its process died); marked failed, partial files removed",
                        row.backup_id)
        return [row.backup_id for row in found]

    def _sweep_legacy_credentials(self) -> None:
        scratch = Path(self.plan.backup.directory) / ".scratch"
        replays = [p for p in scratch.glob("binlog-replay-*") if p.is_dir()] if scratch.is_dir() else []
        for holder in sweep_legacy_option_dirs(Path(tempfile.gettempdir()), *replays):
            log.warning("removed %s: an option file a killed run of an earlier version left behind", holder)

    # --- one run -----------------------------------------------------------------------------------

    def run(self, requested: str = "auto") -> DbBackup:
        """Take one backup; returns its catalog row, or raises BackupError after recording the failure."""
        self.recover()
        now = self.clock()
        preflight_error: str | None = None
        with self.state_db.session() as session:
            tip = catalog.last_chain_tip(session)
            chain = catalog.chain_of(session, tip) if tip else []
            try:
                kind, why = choose_kind(self.plan, requested, tip, len(chain),
                                        chain[0] if chain else None, now)
            except BackupError as exc:
                kind, why, preflight_error = requested, "", str(exc)
            parent = tip if kind == INCREMENTAL else None
            row = DbBackup(
                target=TARGET, kind=kind, parent_id=parent.id if parent else None,
                full_id=(parent.full_id or parent.id) if parent else None,
                status=RUNNING, trigger=self.trigger, pid=os.getpid(), pid_started_at=process_start_time(),
                started_at=now, compression="zstd", compression_level=self.plan.backup.database.compression_level)
            session.add(row)
            session.flush()
            stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
            row.directory = f"{stamp}-{row.id}-{kind}"
            attempt = _Attempt(row.id, kind, parent, self.root / row.directory)
        log.info("database backup %d: %s (%s)", attempt.row_id, kind, why or preflight_error)
        password: str | None = None
        try:
            if preflight_error:
                raise BackupError(preflight_error)
            with target_lock(self.root, TARGET):
                password = read_database_password(self.plan.database, self.environ)
                self._take(attempt, password)
        except BaseException as exc:
            skipped = skipped_for_restore(exc, "database backup") if isinstance(exc, LockBusy) else None
            if skipped is not None:
                self._drop(attempt)  # no backup was attempted: not a failure, not a catalog row
                raise skipped from None
            reason = self._reason(exc, password)
            self._fail(attempt, reason)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise BackupError(f"database backup {attempt.row_id} failed: {reason}") from None
        self._after_success()
        with self.state_db.session() as session:
            return catalog.get_backup(session, attempt.row_id)

    def _reason(self, exc: BaseException, password: str | None) -> str:
        if isinstance(exc, KeyboardInterrupt):
            return "interrupted by the operator"
        if is_disk_full(exc):
            return scrub(f"disk full in {self.root}: {exc}", password)
        if isinstance(exc, OpsplanError):
            return scrub(str(exc), password)
        log.exception("database backup: unexpected error")
        return scrub(f"{type(exc).__name__}: {exc}", password)

    def _drop(self, attempt: _Attempt) -> None:
        remove_quietly(attempt.directory)
        with self.state_db.session() as session:
            session.delete(catalog.get_backup(session, attempt.row_id))

    def _fail(self, attempt: _Attempt, reason: str) -> None:
        remove_quietly(attempt.directory)
        with self.state_db.session() as session:
            row = catalog.get_backup(session, attempt.row_id)
            row.status, row.reason, row.finished_at = FAILED, reason, self.clock()
        log.error("database backup %d failed: %s", attempt.row_id, reason, extra=REPEATED_AS_ERROR)

    def _after_success(self) -> None:
        from opsplan.backup.database.retention import prune

        try:
            prune(self.plan, self.state_db, clock=self.clock)
        except OpsplanError as exc:
            log.error("retention after the backup failed: %s", exc)

    def _take(self, attempt: _Attempt, password: str | None) -> None:
        conn = connect(self.plan.database, password)
        try:
            version = server_version(conn)
            basedir = self._check_parent(attempt.parent) if attempt.parent else None
            estimate = self._estimate(attempt.kind)
            ensure_space(self.root, int(estimate * SPACE_MARGIN))
            lsn_dir = private_dir(attempt.directory / LSN_DIR)
            work = private_dir(attempt.directory / WORK_DIR)
            stored = self._stream(attempt, password, lsn_dir, work, basedir, estimate)
            checkpoints = parse_checkpoints(lsn_dir / "xtrabackup_checkpoints")
            info = parse_info(lsn_dir / "xtrabackup_info")
            if attempt.parent is not None:
                catalog.check_chain_link(attempt.parent, checkpoints.from_lsn)
            remove_quietly(work)
        finally:
            conn.close()
        files = [DbBackupFile(name=STREAM_FILE, role="stream", size=stored.bytes_stored,
                              hash_algorithm=stored.hash_algorithm, hash=stored.hash)]
        for role, name in (("checkpoints", "xtrabackup_checkpoints"), ("info", "xtrabackup_info")):
            path = lsn_dir / name
            os.chmod(path, 0o600)
            files.append(DbBackupFile(name=f"{LSN_DIR}/{name}", role=role, size=path.stat().st_size,
                                      hash_algorithm=ALGORITHM, hash=hash_file(path)))
        with self.state_db.session() as session:
            row = catalog.get_backup(session, attempt.row_id)
            row.status, row.finished_at = OK, self.clock()
            row.from_lsn, row.to_lsn, row.last_lsn = checkpoints.from_lsn, checkpoints.to_lsn, checkpoints.last_lsn
            row.binlog_file, row.binlog_position = info.binlog.file, info.binlog.position
            row.gtid = info.binlog.gtid
            row.bytes_read, row.bytes_stored = stored.bytes_read, stored.bytes_stored
            row.tool_version = info.tool_version or self.tool.version()
            row.server_version = info.server_version or version
            row.files = files
        log.info("database backup %d ok: %s, %d bytes read, %d stored, LSN %s..%s", attempt.row_id, attempt.kind,
                 stored.bytes_read, stored.bytes_stored, checkpoints.from_lsn, checkpoints.to_lsn)

    def _check_parent(self, parent: DbBackup) -> Path:
        """The chain rule before anything runs: the parent's stored checkpoints match the catalog."""
        basedir = self.root / (parent.directory or "") / LSN_DIR
        stored = parse_checkpoints(basedir / "xtrabackup_checkpoints")
        if stored.to_lsn != parent.to_lsn:
            raise BackupError(f"chain rule: parent {parent.id}'s stored to_lsn {stored.to_lsn} "
                              f"differs from the catalog's {parent.to_lsn}")
        return basedir

    def _estimate(self, kind: str) -> int:
        """Bytes this run may store: the last backup of this kind, else the datadir's size."""
        with self.state_db.session() as session:
            last = catalog.last_of_kind(session, kind)
        if last is not None and last.bytes_stored:
            return int(last.bytes_stored)
        datadir = directory_bytes(self.plan.database.datadir) or 0
        return datadir if kind == FULL else datadir // 10

    def _stream(self, attempt: _Attempt, password: str | None, lsn_dir: Path, work: Path,
                basedir: Path | None, estimate: int) -> Stored:
        settings = self.plan.backup.database
        with client_options(self.plan.database, password) as credentials, \
                open_private(work / "mariabackup.log") as errlog:
            args = self.tool.backup_args(credentials, target_dir=work / "target", extra_lsndir=lsn_dir,
                                         incremental_basedir=basedir)
            with private_umask():
                proc = self.tool.start_backup(args, errlog, credentials)
            assert proc.stdout is not None
            try:
                widen_pipe(proc.stdout)
                stream = self.progress_stream if self.progress_stream is not None else sys.stderr
                zstd = zstd_binary()
                with progress(estimate, f"database {attempt.kind} backup {attempt.row_id}", stream=stream) as advance:
                    if zstd is not None:  # the anchor's own compressor; raw bytes never pass through Python
                        stored = compress_with_zstd(proc.stdout, attempt.directory / STREAM_FILE, zstd=zstd,
                                                    level=settings.compression_level,
                                                    threads=settings.compression_threads, advance=advance)
                    else:
                        stored = compress_to_file(proc.stdout, attempt.directory / STREAM_FILE,
                                                  level=settings.compression_level,
                                                  threads=settings.compression_threads, advance=advance)
                rc = proc.wait()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        if rc != 0:
            text = (work / "mariabackup.log").read_text(encoding="utf-8", errors="replace")
            raise BackupError(f"mariabackup exited with {rc}: {first_error(text)}")
        return stored
