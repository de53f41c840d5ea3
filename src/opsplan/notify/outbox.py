"""The outbox table: one row per (notice, channel), pending until sent or given up.

Rows are written before anything is sent, so a crash between an alert and its delivery
loses nothing; the unique (notice_key, channel) pair keeps a notice submitted twice (say,
by an engine restarted mid-cycle) from being sent twice. Times are UTC unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsplan.store.state import LONG_TEXT, Base

PENDING, SENT, FAILED = "pending", "sent", "failed"
WITHDRAWN = "withdrawn"  # a page made needless (acknowledged) before it was sent (opsplan.oncall)


class OutboxRow(Base):
    __tablename__ = "notify_outbox"
    __table_args__ = (
        UniqueConstraint("notice_key", "channel", name="uq_notify_outbox_notice_channel"),
        Index("ix_notify_outbox_status_next", "status", "next_try_at"),
        Index("ix_notify_outbox_fingerprint", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_key: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(String(200))
    alert: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(LONG_TEXT)  # carries an alert's description: no bound
    notify_type: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[float] = mapped_column(Float)
    first_due_at: Mapped[float] = mapped_column(Float)
    next_try_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(20), default=PENDING, server_default=PENDING)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)


def add_new(session: Session, rows: list[OutboxRow]) -> list[OutboxRow]:
    """Insert the rows whose (notice_key, channel) is not there yet; returns those inserted. One
    query for all of them: a burst of notices is one look, not one per row."""
    if not rows:
        return []
    keys = {row.notice_key for row in rows}
    there = {(key, channel) for key, channel in session.execute(
        select(OutboxRow.notice_key, OutboxRow.channel).where(OutboxRow.notice_key.in_(keys)))}
    added = []
    for row in rows:
        if (row.notice_key, row.channel) not in there:
            there.add((row.notice_key, row.channel))
            session.add(row)
            added.append(row)
    return added


def due_ids(session: Session, now: float, limit: int = 200) -> list[int]:
    query = (select(OutboxRow.id).where(OutboxRow.status == PENDING, OutboxRow.next_try_at <= now)
             .order_by(OutboxRow.next_try_at, OutboxRow.id).limit(limit))
    return list(session.scalars(query))


def next_due(session: Session) -> float | None:
    return session.scalar(select(func.min(OutboxRow.next_try_at)).where(OutboxRow.status == PENDING))


def firing_channels(session: Session, fingerprint: str) -> list[str]:
    """The channels the firing (or repeat) notices of `fingerprint` went to, in first-seen order."""
    return firing_channels_of(session, [fingerprint]).get(fingerprint, [])


def firing_channels_of(session: Session, fingerprints: list[str]) -> dict[str, list[str]]:
    """`firing_channels` of many fingerprints in one query (a burst of alerts resolving together)."""
    if not fingerprints:
        return {}
    query = (select(OutboxRow.fingerprint, OutboxRow.channel)
             .where(OutboxRow.fingerprint.in_(set(fingerprints)), OutboxRow.kind.in_(("firing", "repeat")))
             .order_by(OutboxRow.id))
    went: dict[str, dict[str, None]] = {}
    for fingerprint, channel in session.execute(query):
        went.setdefault(fingerprint, {})[channel] = None
    return {fingerprint: list(channels) for fingerprint, channels in went.items()}


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_due: float | None  # first due time of the oldest pending row already due


def backlog(session: Session, now: float) -> Backlog:
    pending = session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == PENDING))
    oldest = session.scalar(select(func.min(OutboxRow.first_due_at)).where(
        OutboxRow.status == PENDING, OutboxRow.first_due_at <= now))
    return Backlog(int(pending or 0), oldest)


def unsent(session: Session, limit: int = 500) -> list[OutboxRow]:
    """Pending and failed rows, oldest first: what `opsplan notify outbox` shows."""
    query = (select(OutboxRow).where(OutboxRow.status.in_((PENDING, FAILED)))
             .order_by(OutboxRow.id).limit(limit))
    return list(session.scalars(query))


def prune(session: Session, before: float) -> int:
    """Forget sent and failed rows created before `before`; pending rows are never pruned."""
    result = session.execute(delete(OutboxRow).where(OutboxRow.status.in_((SENT, FAILED, WITHDRAWN)),
                                                     OutboxRow.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
