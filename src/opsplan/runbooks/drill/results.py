"""Restore drill results in the state DB (Alembic branch "drills") and the metrics they export.

One row per drill, written 'running' before the drill's first step and finished after its last
(whatever happened), so a drill killed halfway still shows. `target` is "database" for the
database drill; a model drill uses "model:<name>". Times are UTC epoch seconds; durations seconds.
docs/metrics-drills.md documents the metrics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Float, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsplan.metrics import MetricSpec, Sample, gauge, sample
from opsplan.metrics.cached import CachedReading
from opsplan.plan.models import Plan
from opsplan.store.state import Base, StateDB

RUNNING, OK, FAILED = "running", "ok", "failed"
DATABASE = "database"

METRICS: dict[str, MetricSpec] = {
    "opsplan_drill_last_status": gauge(
        "1 when the target's newest finished restore drill passed, 0 when it failed (DrillFailed reads this).",
        "target"),
    "opsplan_drill_last_timestamp_seconds": gauge(
        "When the target's newest finished restore drill ended.", "target", unit="seconds"),
    "opsplan_drill_last_rto_seconds": gauge(
        "Time to a verified restore measured by the newest drill that got that far (RtoTargetMissed reads this).",
        "target", unit="seconds"),
    "opsplan_drill_last_rpo_seconds": gauge(
        "Age of the newest restorable point when the newest drill ran (RpoTargetMissed reads this).",
        "target", unit="seconds"),
}


class DrillResult(Base):
    __tablename__ = "drill_result"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(200), index=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    backup_ids: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    restorable_point: Mapped[float | None] = mapped_column(Float)
    rpo_seconds: Mapped[float | None] = mapped_column(Float)
    rto_seconds: Mapped[float | None] = mapped_column(Float)
    time_to_service: Mapped[float | None] = mapped_column(Float)
    time_to_verified: Mapped[float | None] = mapped_column(Float)
    rto_target: Mapped[float | None] = mapped_column(Float)
    rpo_target: Mapped[float | None] = mapped_column(Float)
    phases: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    tables_checked: Mapped[int | None] = mapped_column(Integer)
    tables_failed: Mapped[int | None] = mapped_column(Integer)
    failed_step: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(String(1000))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "target": self.target, "run_id": self.run_id, "status": self.status,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "backup_ids": json.loads(self.backup_ids or "[]"), "restorable_point": self.restorable_point,
            "rpo_seconds": self.rpo_seconds, "rto_seconds": self.rto_seconds,
            "time_to_service": self.time_to_service, "time_to_verified": self.time_to_verified,
            "targets": {"rto_seconds": self.rto_target, "rpo_seconds": self.rpo_target},
            "phases": json.loads(self.phases or "{}"), "tables_checked": self.tables_checked,
            "tables_failed": self.tables_failed, "failed_step": self.failed_step, "reason": self.reason,
            "report": self.report_path,
        }


_COLUMNS = {c.key for c in DrillResult.__table__.columns} - {"id"}


def start(state_db: StateDB, target: str, *, started_at: float, run_id: int | None = None,
          rto_target: float | None = None, rpo_target: float | None = None) -> int:
    """The 'running' row, written before the drill's first step; returns its id."""
    with state_db.session() as session:
        row = DrillResult(target=target, run_id=run_id, status=RUNNING, started_at=started_at,
                          rto_target=rto_target, rpo_target=rpo_target, backup_ids="[]", phases="{}")
        session.add(row)
        session.flush()
        return row.id


def update(state_db: StateDB, drill_id: int, **fields: Any) -> None:
    """Set columns of one drill; `backup_ids` (list) and `phases` (dict) are stored as JSON."""
    unknown = set(fields) - _COLUMNS
    if unknown:
        raise ValueError(f"unknown drill_result columns: {sorted(unknown)}")
    with state_db.session() as session:
        row = session.get(DrillResult, drill_id)
        if row is None:
            raise ValueError(f"no drill {drill_id}")
        for key, value in fields.items():
            if key in ("backup_ids", "phases"):
                value = json.dumps(value, sort_keys=True)
            setattr(row, key, value)


def get(state_db: StateDB, drill_id: int) -> dict[str, Any]:
    with state_db.session() as session:
        row = session.get(DrillResult, drill_id)
        if row is None:
            raise ValueError(f"no drill {drill_id}")
        return row.as_dict()


def last_finished(session: Session, target: str) -> DrillResult | None:
    query = (select(DrillResult).where(DrillResult.target == target, DrillResult.status != RUNNING)
             .order_by(DrillResult.started_at.desc(), DrillResult.id.desc()).limit(1))
    return session.scalars(query).first()


def last_measured(session: Session, target: str, column: str) -> DrillResult | None:
    """The newest finished drill that measured `column` (a drill failing before the restore measures no RTO)."""
    attr = getattr(DrillResult, column)
    query = (select(DrillResult).where(DrillResult.target == target, DrillResult.status != RUNNING,
                                       attr.is_not(None))
             .order_by(DrillResult.started_at.desc(), DrillResult.id.desc()).limit(1))
    return session.scalars(query).first()


def last_drill_time(state_db: StateDB, target: str) -> float | None:
    """When the newest drill of `target` started, whatever its outcome (None: never)."""
    with state_db.session() as session:
        value = session.scalar(select(func.max(DrillResult.started_at)).where(DrillResult.target == target))
    return float(value) if value is not None else None


def targets(session: Session) -> list[str]:
    return sorted(str(t) for t in session.scalars(select(DrillResult.target).distinct()))


def history(state_db: StateDB, target: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    with state_db.session() as session:
        query = select(DrillResult)
        if target is not None:
            query = query.where(DrillResult.target == target)
        rows = session.scalars(query.order_by(DrillResult.started_at.desc(), DrillResult.id.desc()).limit(limit))
        return [r.as_dict() for r in rows]


class DrillCollector:
    """The newest drill of every target as gauges; nothing until a target's first drill finishes."""

    name = "drills"

    def __init__(self, plan: Plan, state_db: StateDB, clock: Callable[[], float] = time.time, *,
                 max_age: float = 0.0):
        self.plan = plan
        self.state_db = state_db
        self.clock = clock
        # Nothing here depends on the time of the cycle: serve keeps the samples between cycles.
        self.reading = CachedReading(self._read, max_age=max_age, clock=clock)

    def collect(self) -> list[Sample]:
        return list(self.reading.get())

    def _read(self) -> list[Sample]:
        samples: list[Sample] = []
        with self.state_db.session() as session:
            for target in targets(session):
                last = last_finished(session, target)
                if last is None:
                    continue
                samples.append(sample("opsplan_drill_last_status", 1.0 if last.status == OK else 0.0, target=target))
                samples.append(sample("opsplan_drill_last_timestamp_seconds", last.finished_at or last.started_at,
                                      target=target))
                rto = last_measured(session, target, "rto_seconds")
                if rto is not None and rto.rto_seconds is not None:
                    samples.append(sample("opsplan_drill_last_rto_seconds", rto.rto_seconds, target=target))
                rpo = last_measured(session, target, "rpo_seconds")
                if rpo is not None and rpo.rpo_seconds is not None:
                    samples.append(sample("opsplan_drill_last_rpo_seconds", rpo.rpo_seconds, target=target))
        return samples
