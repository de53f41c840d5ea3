"""The incident tables of the state database (schema: migrations/versions/incidents_0001_core.py).

Times are UTC unix seconds. `incident_timeline` is append-only: rows are inserted, never updated
or deleted (lifecycle.py is the only writer), so the timeline is what happened, in order.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.store.state import LONG_TEXT, Base

# An incident's dedup key ("host|subject") is compared byte for byte: MariaDB's default collation
# would make the subjects "device GPU-A" and "device gpu-a" (two devices) one incident
# (migration incidents_0003). Keys longer than this are fitted (mapping.fitted_key).
DEDUP_KEY_LENGTH = 500
DEDUP_KEY = String(DEDUP_KEY_LENGTH).with_variant(
    mysql.VARCHAR(DEDUP_KEY_LENGTH, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)                # JSON {"ko": ..., "en": ...}
    description: Mapped[str] = mapped_column(LONG_TEXT)     # an external alert's: no bound
    severity: Mapped[str] = mapped_column(String(16))        # critical | major | minor
    status: Mapped[str] = mapped_column(String(16), index=True)
    stage: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1-based, while status is "stage"
    source: Mapped[str] = mapped_column(String(16))          # alert | manual
    dedup_key: Mapped[str | None] = mapped_column(DEDUP_KEY, nullable=True, index=True)
    opened_at: Mapped[float] = mapped_column(Float)
    opened_by: Mapped[str] = mapped_column(String(200))
    clock_from: Mapped[float] = mapped_column(Float)         # when the deadlines started counting
    ack_due: Mapped[float] = mapped_column(Float)
    respond_due: Mapped[float] = mapped_column(Float)
    ack_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ack_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    responded_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ack_breached_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    respond_breached_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    merged_into: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reopened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[float] = mapped_column(Float)
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)  # who owns it (re-paged when idle)


class TimelineRow(Base):
    __tablename__ = "incident_timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    data: Mapped[str] = mapped_column(LONG_TEXT)             # JSON object (a final postmortem's: whole facts)


class IncidentAlertRow(Base):
    __tablename__ = "incident_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    alert: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    labels: Mapped[str] = mapped_column(Text)                # JSON object
    started_at: Mapped[float] = mapped_column(Float)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
