"""The alert tables of the state database (schema: migrations/versions/alerts_0001.py).

Times are UTC unix seconds. The engine owns every column but the ack_* ones, which the CLI
and the API write; each side updates only its own columns, so neither undoes the other.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.store.state import LONG_TEXT, Base


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(200))
    alert: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    labels: Mapped[str] = mapped_column(LONG_TEXT)    # JSON object (stored whole)
    subject: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16))    # pending | firing | resolved
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    for_s: Mapped[float] = mapped_column(Float)
    texts: Mapped[str] = mapped_column(LONG_TEXT)     # JSON: summary and description, ko and en
    annotations: Mapped[str] = mapped_column(LONG_TEXT)  # JSON object (external alerts: no bound)
    active_since: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    resolved_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notified: Mapped[bool] = mapped_column(Boolean)
    last_notice_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    inhibited: Mapped[bool] = mapped_column(Boolean)
    ack_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ack_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ack_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)


class SilenceRow(Base):
    __tablename__ = "alert_silences"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    matchers: Mapped[str] = mapped_column(Text)       # JSON: [[name, op, value], ...]
    starts_at: Mapped[float] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float, index=True)
    author: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
