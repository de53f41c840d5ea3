"""When the alert engine last evaluated, in the state database, so `opsplan alerts list` can say
that the states it shows are stale once `opsplan serve` has stopped.

The engine writes one row of `opsplan_meta` at most once a minute (not every cycle: the idle
process must stay cheap); the list calls the states stale when that time is older than one
minute plus three collection intervals.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from opsplan.store.state import META, StateDB

KEY = "alerts_last_evaluation"
EVERY = 60.0       # seconds between heartbeat writes
STALE_CYCLES = 3   # intervals of grace beyond EVERY before the list calls the states stale


def record(db: StateDB, now: float) -> None:
    """The engine evaluated at `now` (UTC seconds)."""
    with db.session() as session:
        updated = session.execute(update(META).where(META.c.key == KEY).values(value=repr(now)))
        if not getattr(updated, "rowcount", 0):  # the first beat on this database
            session.execute(insert(META).values(key=KEY, value=repr(now)))


def last_evaluation(db: StateDB) -> float | None:
    """When the engine last recorded an evaluation; None when it never ran on this database."""
    with db.session() as session:
        value = session.execute(select(META.c.value).where(META.c.key == KEY)).scalar()
    return float(value) if value is not None else None


def stale_after(interval: float) -> float:
    return EVERY + STALE_CYCLES * interval


def is_stale(last: float | None, now: float, interval: float) -> bool:
    return last is None or now - last > stale_after(interval)
