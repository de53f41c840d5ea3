"""The database backup catalog in the state DB: every attempt, its stored files and per-table checks.

It holds what a restore or a drill needs without reading the backups first: the chain order
(parent_id, full_id), LSNs, binlog file/position/GTID, each stored file with its hash and the
compression, and the tool and server versions. Times are UTC epoch seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from opsplan.errors import BackupError
from opsplan.fsutil import process_alive
from opsplan.store.state import META, Base, StateDB

RUNNING, OK, FAILED = "running", "ok", "failed"
FULL, INCREMENTAL = "full", "incremental"
DATABASE_TARGET = "database"
INTERRUPTED = "interrupted: the backup process died before it finished"


class DbBackup(Base):
    __tablename__ = "backup_db"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(50), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("backup_db.id"))
    full_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    pid: Mapped[int | None] = mapped_column(Integer)
    pid_started_at: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    directory: Mapped[str | None] = mapped_column(String(500))
    from_lsn: Mapped[int | None] = mapped_column(BigInteger)
    to_lsn: Mapped[int | None] = mapped_column(BigInteger)
    last_lsn: Mapped[int | None] = mapped_column(BigInteger)
    binlog_file: Mapped[str | None] = mapped_column(String(255))
    binlog_position: Mapped[int | None] = mapped_column(BigInteger)
    gtid: Mapped[str | None] = mapped_column(Text)
    bytes_read: Mapped[int | None] = mapped_column(BigInteger)
    bytes_stored: Mapped[int | None] = mapped_column(BigInteger)
    compression: Mapped[str | None] = mapped_column(String(20))
    compression_level: Mapped[int | None] = mapped_column(Integer)
    tool_version: Mapped[str | None] = mapped_column(String(200))
    server_version: Mapped[str | None] = mapped_column(String(200))
    verified_at: Mapped[float | None] = mapped_column(Float)
    verify_status: Mapped[str | None] = mapped_column(String(20))
    verify_deep: Mapped[bool | None] = mapped_column(Boolean)
    verify_reason: Mapped[str | None] = mapped_column(Text)
    pruned_at: Mapped[float | None] = mapped_column(Float)
    prune_reason: Mapped[str | None] = mapped_column(Text)
    # When `tables` was captured from the prepared copy (None: not yet; see runbooks/restore/capture.py).
    tables_captured_at: Mapped[float | None] = mapped_column(Float)

    files: Mapped[list[DbBackupFile]] = relationship(
        back_populates="backup", cascade="all, delete-orphan", lazy="selectin", order_by="DbBackupFile.id")
    tables: Mapped[list[DbBackupTable]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="DbBackupTable.id")

    @property
    def duration(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.started_at

    def file(self, role: str) -> DbBackupFile | None:
        return next((f for f in self.files if f.role == role), None)


class DbBackupFile(Base):
    __tablename__ = "backup_db_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backup_id: Mapped[int] = mapped_column(ForeignKey("backup_db.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))  # relative to the backup's directory
    role: Mapped[str] = mapped_column(String(30))  # stream | checkpoints | info
    size: Mapped[int] = mapped_column(BigInteger)
    hash_algorithm: Mapped[str] = mapped_column(String(30))
    hash: Mapped[str] = mapped_column(String(128))

    backup: Mapped[DbBackup] = relationship(back_populates="files")


class DbBackupTable(Base):
    """Row count and CHECKSUM TABLE of the backup's data (its consistent point), so a restore drill
    can compare cheaply. Captured from the prepared copy on a scratch server, never the live one."""

    __tablename__ = "backup_db_table"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backup_id: Mapped[int] = mapped_column(ForeignKey("backup_db.id", ondelete="CASCADE"), index=True)
    schema_name: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[int | None] = mapped_column(BigInteger)


@dataclass(frozen=True)
class Interrupted:
    backup_id: int
    directory: str | None


# --- queries ---------------------------------------------------------------------------------------

def all_backups(session: Session, target: str = DATABASE_TARGET, *, include_pruned: bool = False) -> list[DbBackup]:
    query = select(DbBackup).where(DbBackup.target == target)
    if not include_pruned:
        query = query.where(DbBackup.pruned_at.is_(None))
    return list(session.scalars(query.order_by(DbBackup.started_at, DbBackup.id)))


def get_backup(session: Session, backup_id: int) -> DbBackup:
    backup = session.get(DbBackup, backup_id)
    if backup is None:
        raise BackupError(f"no database backup with id {backup_id} in the catalog")
    return backup


def chain_of(session: Session, backup: DbBackup) -> list[DbBackup]:
    """The backups to restore `backup`: its full first, then each incremental up to it, in order."""
    chain = [backup]
    seen = {backup.id}
    while chain[0].parent_id is not None:
        parent = session.get(DbBackup, chain[0].parent_id)
        if parent is None or parent.id in seen:
            raise BackupError(f"backup {backup.id}: its chain is broken at parent {chain[0].parent_id}")
        seen.add(parent.id)
        chain.insert(0, parent)
    return chain


def last_chain_tip(session: Session, target: str = DATABASE_TARGET) -> DbBackup | None:
    """The newest usable backup (an incremental builds on it), or None when there is no chain."""
    query = (select(DbBackup)
             .where(DbBackup.target == target, DbBackup.status == OK, DbBackup.pruned_at.is_(None))
             .order_by(DbBackup.started_at.desc(), DbBackup.id.desc()).limit(1))
    return session.scalars(query).first()


def chain_length(session: Session, tip: DbBackup) -> int:
    return len(chain_of(session, tip))


def last_of_kind(session: Session, kind: str, target: str = DATABASE_TARGET) -> DbBackup | None:
    query = (select(DbBackup)
             .where(DbBackup.target == target, DbBackup.status == OK, DbBackup.kind == kind)
             .order_by(DbBackup.started_at.desc()).limit(1))
    return session.scalars(query).first()


def last_success(session: Session, target: str = DATABASE_TARGET) -> DbBackup | None:
    query = (select(DbBackup).where(DbBackup.target == target, DbBackup.status == OK)
             .order_by(DbBackup.finished_at.desc()).limit(1))
    return session.scalars(query).first()


def last_finished(session: Session, target: str = DATABASE_TARGET) -> DbBackup | None:
    query = (select(DbBackup).where(DbBackup.target == target, DbBackup.status != RUNNING)
             .order_by(DbBackup.started_at.desc(), DbBackup.id.desc()).limit(1))
    return session.scalars(query).first()


def uncaptured_tip(session: Session, target: str = DATABASE_TARGET) -> DbBackup | None:
    """The newest ok backup whose tables were not captured yet (the one a drill compares with)."""
    tip = last_chain_tip(session, target)
    return tip if tip is not None and tip.tables_captured_at is None else None


def record_tables(session: Session, backup: DbBackup, tables: list[DbBackupTable], when: float) -> None:
    """Replace `backup`'s per-table capture and mark it captured at `when`."""
    backup.tables = tables
    backup.tables_captured_at = when


def catalog_created_at(session: Session) -> float | None:
    value = session.execute(select(META.c.value).where(META.c.key == "backup_catalog_created_at")).scalar()
    return float(value) if value is not None else None


def check_chain_link(parent: DbBackup, from_lsn: int | None) -> None:
    """The chain rule: an incremental starts exactly where its parent ended."""
    if parent.status != OK:
        raise BackupError(f"chain rule: parent backup {parent.id} is {parent.status}, not ok")
    if parent.to_lsn is None or from_lsn is None or from_lsn != parent.to_lsn:
        raise BackupError(
            f"chain rule: incremental from_lsn {from_lsn} does not equal parent {parent.id}'s to_lsn {parent.to_lsn}")


def mark_interrupted(
    state_db: StateDB,
    clock: Callable[[], float],
    *,
    alive: Callable[[int, float | None], bool] = process_alive,
    target: str = DATABASE_TARGET,
) -> list[Interrupted]:
    """'running' rows whose process is gone become failed ("interrupted"); returns them so the
    caller removes their partial files. Run at every backup command and at serve start."""
    found: list[Interrupted] = []
    with state_db.session() as session:
        rows = session.scalars(select(DbBackup).where(DbBackup.target == target, DbBackup.status == RUNNING))
        for row in rows:
            if row.pid is not None and alive(row.pid, row.pid_started_at):
                continue
            row.status = FAILED
            row.reason = INTERRUPTED
            row.finished_at = clock()
            found.append(Interrupted(row.id, row.directory))
    return found


def ids(backups: Iterable[DbBackup]) -> list[int]:
    return [b.id for b in backups]
