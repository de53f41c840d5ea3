"""Catalog tables of the file backups: every attempt (models and configuration), model versions
and their files. Times are naive UTC (the same on SQLite and MariaDB); shown in the plan's zone."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsplan.fsutil import process_alive
from opsplan.store.state import LONG_TEXT, Base

RUNNING, OK, UNCHANGED, FAILED = "running", "ok", "unchanged", "failed"
KEPT, PRUNED = "ok", "pruned"


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def epoch(when: datetime) -> float:
    return when.replace(tzinfo=UTC).timestamp()


# A file's path inside its version, part of the primary key. MariaDB/MySQL cap a key at 3072 bytes
# (768 utf8mb4 characters with the version id), so there it is 767 characters, compared byte for
# byte: its default collation would make "A.bin" and "a.bin" one file. Elsewhere 1000 characters.
PATH_KEY = String(1000).with_variant(
    mysql.VARCHAR(767, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")


class FileBackupRun(Base):
    """One attempt, recorded before its first step. target: "model:NAME" or "config"."""

    __tablename__ = "file_backup_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # size of what the backup holds
    copied_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # bytes this run had to write
    changed_files: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    version: Mapped[str | None] = mapped_column(String(200), nullable=True)  # model version or git commit
    excluded: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)  # newline-separated paths, never content
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int] = mapped_column(ForeignKey("file_backup_runs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    files: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    pruned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ModelVersionFile(Base):
    __tablename__ = "model_version_files"

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(PATH_KEY, primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(128))
    mode: Mapped[int] = mapped_column(Integer)


def start_run(session: Session, target: str, now: float) -> FileBackupRun:
    run = FileBackupRun(target=target, status=RUNNING, started_at=utc(now), host=socket.gethostname(),
                        pid=os.getpid(), size_bytes=0, copied_bytes=0, changed_files=0)
    session.add(run)
    session.flush()
    return run


def mark_dead_runs(session: Session, target: str | None, now: float, *, holding_lock: bool) -> int:
    """`running` rows whose process is gone become `failed`. With the target's lock held, every
    running row of that target is dead (a live run would hold the lock)."""
    query = select(FileBackupRun).where(FileBackupRun.status == RUNNING)
    if target is not None:
        query = query.where(FileBackupRun.target == target)
    marked = 0
    for run in session.scalars(query):
        if holding_lock or (run.host == socket.gethostname() and not process_alive(run.pid, None)):
            run.status = FAILED
            run.finished_at = utc(now)
            run.reason = "interrupted: the process ended before the backup finished"
            marked += 1
    return marked
