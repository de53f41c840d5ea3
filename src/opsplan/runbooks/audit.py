"""The audit log: every run, resume and confirmation decision, in the state DB and in a file.

Each entry says who, when, what, with which arguments (secrets masked) and the outcome. The same
entry is appended as one JSON line to `<data_dir>/audit.log` (0600): the file survives a lost or
rebuilt state database and is easy to ship elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.fsutil import FILE_MODE, private_dir
from opsplan.runbooks.journal import from_json, mask
from opsplan.store.state import Base, StateDB

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.log"


class AuditEntry(Base):
    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str | None] = mapped_column(String(50))
    run_id: Mapped[int | None] = mapped_column(Integer)
    arguments: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    outcome: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)


def record(state_db: StateDB, data_dir: Path | None, *, at: float, actor: str, action: str,
           kind: str | None = None, run_id: int | None = None, arguments: dict[str, Any] | None = None,
           outcome: str | None = None, detail: str | None = None) -> dict[str, Any]:
    """Write one audit entry to the table and to the file; returns it as written."""
    entry = {"at": at, "actor": actor, "action": action, "kind": kind, "run_id": run_id,
             "arguments": mask(arguments or {}), "outcome": outcome, "detail": detail}
    with state_db.session() as session:
        session.add(AuditEntry(at=at, actor=actor, action=action, kind=kind, run_id=run_id,
                               arguments=json.dumps(entry["arguments"], ensure_ascii=False, sort_keys=True,
                                                    default=str),
                               outcome=outcome, detail=detail))
    if data_dir is not None:
        append_line(Path(data_dir) / AUDIT_FILE, entry)
    return entry


def append_line(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line; the file is created 0600 (and kept 0600) in a private directory."""
    try:
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, (json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str) + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:  # the table already holds the entry; the file is a copy
        log.warning("cannot append to the audit log %s: %s", path, exc.strerror or exc)


def entries(state_db: StateDB, *, run_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    with state_db.session() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if run_id is not None:
            query = query.where(AuditEntry.run_id == run_id)
        return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "kind": e.kind,
                 "run_id": e.run_id, "arguments": from_json(e.arguments), "outcome": e.outcome,
                 "detail": e.detail} for e in session.scalars(query).all()]
