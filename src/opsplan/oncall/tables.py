"""The on-call tables of the state database (schema: migrations/versions/oncall_0001.py). UTC unix seconds.

`incident_paging` is one row per open incident: where its escalation stands, so a restarted serve
carries on from there (nothing paged twice, nothing forgotten)."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.store.state import Base

PAGING, ACKED, DONE = "paging", "acked", "done"


class PagingRow(Base):
    __tablename__ = "incident_paging"

    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16), index=True)  # paging | acked | done
    step: Mapped[int] = mapped_column(Integer)       # the next step to page (0-based)
    round: Mapped[int] = mapped_column(Integer)      # how many times the steps ran through
    next_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    pages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    snoozed_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class OverrideRow(Base):
    """Someone else takes the primary's shift for a while (a holiday, a swap)."""

    __tablename__ = "oncall_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str] = mapped_column(String(200))
    start: Mapped[float] = mapped_column(Float, index=True)
    end: Mapped[float] = mapped_column(Float, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float)


class MaintenanceRow(Base):
    """A maintenance window added by command (the plan's own are read from the plan)."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subjects: Mapped[str] = mapped_column(Text)  # JSON list
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float, index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float)
