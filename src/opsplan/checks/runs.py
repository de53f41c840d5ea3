"""Check runs (seed §2): the window a run checks, running every item of a period, the stored results.

A run is written 'running' before its first item and finished after its last, so a run killed
halfway still shows. Each item keeps its ItemResult as JSON (compared with the next run's through
`CheckContext.previous`); an item without an id is a manual checklist item, stored as 'manual' and
awaiting a person's tick. A finished run is signed off by a person (`opsplan check sign ID`).
Every run, tick and sign-off is in the audit log. Times are UTC unix seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from opsplan import audit
from opsplan.checks import registry
from opsplan.checks.model import MANUAL, CheckContext, ItemResult, worst
from opsplan.errors import OpsplanError, said
from opsplan.jobs import next_fire
from opsplan.masking import mask_text
from opsplan.metrics import MetricSpec, Sample, gauge, sample
from opsplan.metrics.cached import CachedReading
from opsplan.store.state import LONG_TEXT, MAX_ROW_ID, Base, StateDB

PERIODS = ("daily", "weekly", "monthly", "quarterly")
RUNNING = "running"
INTERRUPTED = "interrupted"  # a run whose process died before it finished (found at serve's start)
# How far back a daily or weekly window reaches from the run time.
SPANS = {"daily": 86400.0, "weekly": 7 * 86400.0}


class CheckRunError(OpsplanError):
    """A run or a sign-off that cannot be done (unknown id, already signed): one line for the CLI."""


class CheckRun(Base):
    __tablename__ = "check_run"
    __table_args__ = (Index("ix_check_run_period_started", "period", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[float] = mapped_column(Float)
    window_end: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[float | None] = mapped_column(Float)
    sign_note: Mapped[str | None] = mapped_column(Text)


class CheckItemRow(Base):
    __tablename__ = "check_item"
    __table_args__ = (Index("ix_check_item_run", "run_id"), Index("ix_check_item_item", "item_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("check_run.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str | None] = mapped_column(String(64))
    title_ko: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    result: Mapped[str | None] = mapped_column(LONG_TEXT)  # charts of a day on many disks pass 64 KB
    ticked_by: Mapped[str | None] = mapped_column(String(200))
    ticked_at: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)


# --- the window ----------------------------------------------------------------------------------

def _midnight(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def window(period: str, cron: str, tz: str, *, now: float, for_date: date | None = None) -> tuple[float, float]:
    """The span a run checks, in UTC seconds. Daily and weekly: the 24 hours (7 days) before the run
    time, which is now, or with `for_date` that day's scheduled time (its end of day if the
    schedule does not fire that day). Monthly: the previous calendar month; quarterly: the previous
    quarter, both of `for_date` (else today) in the plan's timezone."""
    if period not in PERIODS:
        raise said(CheckRunError, "checks.error.period", period=period, known=", ".join(PERIODS))
    zone = ZoneInfo(tz)
    if period in SPANS:
        end = now
        if for_date is not None:
            start_of_day = _midnight(for_date, zone)
            next_day = _midnight(for_date + timedelta(days=1), zone)
            fired = next_fire(cron, start_of_day - 1, zone)
            end = fired if fired < next_day else next_day
        return end - SPANS[period], end
    day = for_date or datetime.fromtimestamp(now, zone).date()
    if period == "monthly":
        first = day.replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        return _midnight(previous, zone), _midnight(first, zone)
    quarter_first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    previous_quarter = (quarter_first - timedelta(days=1)).replace(day=1)
    previous_quarter = previous_quarter.replace(month=3 * ((previous_quarter.month - 1) // 3) + 1)
    return _midnight(previous_quarter, zone), _midnight(quarter_first, zone)


# --- running -------------------------------------------------------------------------------------

@dataclass
class RunOutcome:
    run_id: int
    status: str
    results: list[ItemResult]


def previous_result(db: StateDB, period: str, item_id: str, before_run: int) -> ItemResult | None:
    """The item's result in the newest finished run of `period` before run `before_run`."""
    with db.session() as session:
        row = session.execute(
            select(CheckItemRow.result).join(CheckRun, CheckRun.id == CheckItemRow.run_id)
            .where(CheckRun.period == period, CheckRun.id < before_run, CheckRun.finished_at.is_not(None),
                   CheckItemRow.item_id == item_id, CheckItemRow.result.is_not(None))
            .order_by(CheckRun.id.desc()).limit(1)).scalar_one_or_none()
    return None if row is None else ItemResult.from_dict(json.loads(row))


def run_checks(plan: Any, db: StateDB, period: str, *, store: Any = None, actor: str, now: float | None = None,
               for_date: date | None = None, environ: Mapping[str, str] | None = None,
               clock: Any = time.time) -> RunOutcome:
    """Run every item of `period`'s schedule over its window, store each result, finish the run,
    and prune runs past `checks.retention`. An evaluator's error is that item's not-run."""
    schedule = getattr(plan.checks, period, None) if period in PERIODS else None
    if schedule is None:
        raise said(CheckRunError, "checks.error.period", period=period, known=", ".join(PERIODS))
    started = clock() if now is None else now
    start, end = window(period, schedule.schedule, plan.timezone, now=started, for_date=for_date)
    with db.session() as session:
        run = CheckRun(period=period, window_start=start, window_end=end, started_at=started, status=RUNNING,
                       actor=actor)
        session.add(run)
        session.flush()
        run_id = run.id
    audit.record(db, actor, "check.run", f"{period} #{run_id}", {"period": period, "window": [start, end]},
                 at=started, kind="check", run_id=run_id, outcome="started")
    data_dir = Path(plan.data_dir) / "checks"
    context = CheckContext(plan=plan, period=period, start=start, end=end, now=started, state_db=db, store=store,
                           environ=dict(environ or {}), data_dir=data_dir,
                           previous=lambda item: previous_result(db, period, item, run_id))
    results: list[ItemResult] = []
    statuses: list[str] = []
    for position, item in enumerate(schedule.items):
        result = registry.evaluate(item.id, context) if item.id is not None else None
        with db.session() as session:
            session.add(CheckItemRow(run_id=run_id, position=position, item_id=item.id, title_ko=item.ko,
                                     title_en=item.en, status=result.status if result else MANUAL,
                                     result=json.dumps(result.to_dict(), ensure_ascii=False) if result else None))
        if result is not None:
            results.append(result)
        statuses.append(result.status if result else MANUAL)
    status = worst(statuses)
    finished = clock() if now is None else max(now, clock())
    with db.session() as session:
        stored = session.get(CheckRun, run_id)
        assert stored is not None
        stored.status, stored.finished_at = status, finished
    audit.record(db, actor, "check.run", f"{period} #{run_id}", {"period": period}, at=finished, kind="check",
                 run_id=run_id, outcome=status)
    prune(db, keep_seconds=plan.checks.retention, now=finished)
    return RunOutcome(run_id, status, results)


def recover_interrupted(db: StateDB, *, now: float) -> int:
    """Runs left 'running' by a process that died are marked interrupted (their items stay as stored).
    Called when serve starts, before its scheduler: no run of this process is running yet."""
    with db.session() as session:
        left = list(session.scalars(select(CheckRun).where(CheckRun.status == RUNNING)))
        for run in left:
            run.status, run.finished_at = INTERRUPTED, now
    for run in left:
        audit.record(db, "opsplan serve", "check.run", f"{run.period} #{run.id}", {"period": run.period}, at=now,
                     kind="check", run_id=run.id, outcome=INTERRUPTED)
    return len(left)


def prune(db: StateDB, *, keep_seconds: float, now: float) -> int:
    """Delete runs (and their items) started before `now - keep_seconds`; returns how many."""
    cutoff = now - keep_seconds
    with db.session() as session:
        old = list(session.scalars(select(CheckRun.id).where(CheckRun.started_at < cutoff)))
        if old:
            session.execute(delete(CheckItemRow).where(CheckItemRow.run_id.in_(old)))
            session.execute(delete(CheckRun).where(CheckRun.id.in_(old)))
    return len(old)


# --- reading and signing -------------------------------------------------------------------------

def _run_dict(run: CheckRun) -> dict[str, Any]:
    return {"id": run.id, "period": run.period, "window": {"start": run.window_start, "end": run.window_end},
            "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status,
            "actor": run.actor,
            "signed": None if run.signed_by is None else {"by": run.signed_by, "at": run.signed_at,
                                                          "note": run.sign_note}}


def list_runs(db: StateDB, *, period: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    query = select(CheckRun).order_by(CheckRun.id.desc()).limit(limit)
    if period is not None:
        query = query.where(CheckRun.period == period)
    with db.session() as session:
        return [_run_dict(r) for r in session.scalars(query)]


def get_run(db: StateDB, run_id: int) -> dict[str, Any]:
    """A run with its items: each item's title in both languages, status, result (or None), tick."""
    with db.session() as session:
        run = session.get(CheckRun, run_id) if 1 <= run_id <= MAX_ROW_ID else None
        if run is None:
            raise said(CheckRunError, "checks.error.no_run", id=run_id)
        found = _run_dict(run)
        rows = session.scalars(select(CheckItemRow).where(CheckItemRow.run_id == run_id)
                               .order_by(CheckItemRow.position))
        found["items"] = [{"position": r.position, "item_id": r.item_id, "title": {"ko": r.title_ko, "en": r.title_en},
                           "status": r.status, "result": json.loads(r.result) if r.result else None,
                           "ticked": None if r.ticked_by is None else {"by": r.ticked_by, "at": r.ticked_at,
                                                                       "note": r.note}}
                          for r in rows]
    return found


def _masked(note: str | None) -> str | None:
    # A note is free text that ends up in reports: a pasted password or token is masked first.
    return None if note is None else mask_text(note)


def sign(db: StateDB, run_id: int, *, by: str, note: str | None, now: float) -> dict[str, Any]:
    """A person signs a finished run off (once). Audited."""
    with db.session() as session:
        run = session.get(CheckRun, run_id) if 1 <= run_id <= MAX_ROW_ID else None
        if run is None:
            raise said(CheckRunError, "checks.error.no_run", id=run_id)
        if run.finished_at is None:
            raise said(CheckRunError, "checks.error.not_finished", id=run_id)
        if run.signed_by is not None:
            raise said(CheckRunError, "checks.error.signed", id=run_id, by=run.signed_by)
        run.signed_by, run.signed_at, run.sign_note = by, now, _masked(note)
        period = run.period
    audit.record(db, by, "check.sign", f"{period} #{run_id}", {"note": note}, at=now, kind="check", run_id=run_id,
                 outcome="signed")
    return get_run(db, run_id)


def tick(db: StateDB, run_id: int, position: int, *, by: str, note: str | None, now: float) -> None:
    """A person ticks a manual item of a run as done. Audited."""
    with db.session() as session:
        row = session.scalars(select(CheckItemRow).where(CheckItemRow.run_id == run_id,
                                                         CheckItemRow.position == position)).first()
        if row is None or row.item_id is not None:
            raise said(CheckRunError, "checks.error.no_manual_item", id=run_id, n=position)
        row.ticked_by, row.ticked_at, row.note = by, now, _masked(note)
    audit.record(db, by, "check.tick", f"#{run_id} item {position}", {"note": note}, at=now, kind="check",
                 run_id=run_id, outcome="ticked")


def last_finished(db: StateDB, period: str) -> float | None:
    """When the newest run of `period` finished (serve's catch-up of a missed run reads this); an
    interrupted run does not count, so the run it did not finish is caught up."""
    with db.session() as session:
        return session.execute(select(CheckRun.finished_at).where(CheckRun.period == period,
                                                                  CheckRun.finished_at.is_not(None),
                                                                  CheckRun.status != INTERRUPTED)
                               .order_by(CheckRun.finished_at.desc()).limit(1)).scalar_one_or_none()


def latest_by_period(db: StateDB) -> dict[str, tuple[float, str]]:
    """Each period's newest finished run: (finished_at, status). For the metric family."""
    found: dict[str, tuple[float, str]] = {}
    with db.session() as session:
        for period in PERIODS:
            row = session.execute(select(CheckRun.finished_at, CheckRun.status)
                                  .where(CheckRun.period == period, CheckRun.finished_at.is_not(None))
                                  .order_by(CheckRun.finished_at.desc()).limit(1)).first()
            if row is not None and row[0] is not None:
                found[period] = (float(row[0]), str(row[1]))
    return found


# --- what serve exports --------------------------------------------------------------------------

STATUS_VALUES = {"pass": 0.0, "manual": 1.0, "not-run": 2.0, "warn": 3.0, "fail": 4.0}
METRICS: dict[str, MetricSpec] = {
    "opsplan_check_last_run_timestamp_seconds": gauge(
        "When the newest run of the period finished (UTC epoch); absent until its first run.", "period",
        unit="seconds"),
    "opsplan_check_status": gauge(
        "The newest run's overall status: 0 pass, 1 manual items only, 2 not-run, 3 warn, 4 fail.", "period"),
}


class CheckRunCollector:
    """Each period's newest finished run as gauges (read again when a check job starts or ends)."""

    name = "checks"

    def __init__(self, db: StateDB, *, max_age: float = 0.0, clock: Callable[[], float] = time.time):
        self.db = db
        self.reading = CachedReading(self._read, max_age=max_age, clock=clock)

    def collect(self) -> list[Sample]:
        return list(self.reading.get())

    def _read(self) -> list[Sample]:
        samples = []
        for period, (finished, status) in latest_by_period(self.db).items():
            samples.append(sample("opsplan_check_last_run_timestamp_seconds", finished, period=period))
            samples.append(sample("opsplan_check_status", STATUS_VALUES.get(status, 2.0), period=period))
        return samples
