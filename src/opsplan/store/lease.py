"""The plan's lease: one row per plan naming the `serve` that does the plan's active work.

A row, not the database's advisory locks: it works the same on SQLite, PostgreSQL and MariaDB,
it outlives any one connection (a connection pool may drop and reopen connections), a holder
killed with SIGKILL leaves it to expire, and its `token` (raised by one on every takeover) lets
a transaction check, under the row's lock, that its writer still holds it (fencing).

Times are each process's own UTC unix seconds (the hosts keep NTP time; the lease lasts many
seconds, skews are milliseconds). Every change is one conditional UPDATE, so of two standbys
racing for an expired lease exactly one wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Float, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsplan.store.state import Base


class LeaseRow(Base):
    __tablename__ = "serve_lease"

    plan: Mapped[str] = mapped_column(String(200), primary_key=True)  # the plan's server name
    holder: Mapped[str] = mapped_column(String(64))  # a random id per serve process
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    token: Mapped[int] = mapped_column(Integer)  # fencing token: one more on every takeover
    acquired_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Holder:
    """One serve process as the lease names it."""

    id: str
    host: str
    pid: int


@dataclass(frozen=True)
class Seen:
    """The lease as one read found it (who holds it, until when)."""

    holder: str
    host: str
    pid: int
    token: int
    expires_at: float


def read(session: Session, plan: str) -> Seen | None:
    row = session.get(LeaseRow, plan)
    if row is None:
        return None
    return Seen(row.holder, row.host, row.pid, row.token, row.expires_at)


def take_or_renew(session: Session, plan: str, me: Holder, now: float, ttl: float,
                  gone: Callable[[Seen], bool] = lambda _seen: False) -> int | None:
    """Hold the lease for `ttl` more seconds: renew it if it is ours, take it if it is free,
    expired, or its holder is `gone` (known dead). Returns our fencing token, or None while another
    live holder has it."""
    seen = read(session, plan)
    if seen is None:
        session.add(LeaseRow(plan=plan, holder=me.id, host=me.host[:255], pid=me.pid, token=1,
                             acquired_at=now, heartbeat_at=now, expires_at=now + ttl))
        try:
            session.flush()
        except IntegrityError:  # another serve inserted it first: it holds it
            session.rollback()
            return None
        return 1
    if seen.holder == me.id:
        renewed = session.execute(update(LeaseRow).where(
            LeaseRow.plan == plan, LeaseRow.holder == me.id, LeaseRow.token == seen.token,
        ).values(heartbeat_at=now, expires_at=now + ttl))
        return seen.token if _one(renewed) else None
    dead = gone(seen)
    if seen.expires_at > now and not dead:
        return None
    token = seen.token + 1
    # the token condition alone makes a race between two takers safe; expiry is waited for unless dead
    still = LeaseRow.expires_at <= now if not dead else LeaseRow.token == seen.token
    taken = session.execute(update(LeaseRow).where(
        LeaseRow.plan == plan, LeaseRow.token == seen.token, still,
    ).values(holder=me.id, host=me.host[:255], pid=me.pid, token=token, acquired_at=now,
             heartbeat_at=now, expires_at=now + ttl))
    return token if _one(taken) else None


def holds(session: Session, plan: str, token: int) -> bool:
    """Whether `token` still holds the lease, read under the row's lock: on PostgreSQL and MariaDB a
    takeover (the only thing that changes the token) waits for the transaction that asked. Expiry is
    the holder's own business (its clock). What must happen once also needs its own conditional
    write (the outbox's claim): SQLite takes no row lock here."""
    row = session.execute(select(LeaseRow.token).where(LeaseRow.plan == plan).with_for_update()).first()
    return row is not None and row.token == token


def release(session: Session, plan: str, me: Holder, token: int) -> bool:
    """Give the lease up now (a clean stop): a standby takes it at its next look, not at expiry."""
    done = session.execute(update(LeaseRow).where(
        LeaseRow.plan == plan, LeaseRow.holder == me.id, LeaseRow.token == token,
    ).values(expires_at=0.0))
    return _one(done)


def _one(result: object) -> bool:
    # MariaDB counts matched rows here, not changed ones: SQLAlchemy's MySQL dialects set FOUND_ROWS.
    return int(getattr(result, "rowcount", 0) or 0) == 1
