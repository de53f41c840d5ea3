"""The audit table (created by the runbooks branch, chained by runbooks_0002) and its head row.

`audit_head` holds one row (id 1): the last entry's hash and the number of entries. Every writer
updates it first, in the transaction that appends: that row lock serialises writers on MariaDB and
PostgreSQL, and SQLite's write lock does the same there; `verify` compares it with the table's last
row, so deleting the newest entries shows too.
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.store.state import LONG_TEXT, Base

HEAD_ID = 1


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
    detail: Mapped[str | None] = mapped_column(LONG_TEXT)  # a failed runbook step's whole output
    target: Mapped[str] = mapped_column(String(200), default="", server_default="")
    prev_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    hash: Mapped[str] = mapped_column(String(64), default="", server_default="")


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
