"""Histograms of the time to acknowledge and to resolve, per severity, exported each cycle in the
Prometheus histogram shape (`_bucket{le}` cumulative, `_sum`, `_count`) so `histogram_quantile()`
gives MTTA and MTTR percentiles in Grafana. Counted by the database in one query per histogram,
and at most once a minute: the figures move when a person acts, not every cycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from opsplan.incidents.figures import BUCKETS, LEFT_OUT
from opsplan.incidents.tables import IncidentRow
from opsplan.metrics import Cycle, MetricSpec, Sample, sample
from opsplan.metrics.samples import counter
from opsplan.store.state import StateDB

EVERY = 60.0
_WHAT = {"ack": "acknowledge", "resolve": "resolve"}

METRICS: dict[str, MetricSpec] = {}
for _name, _what in _WHAT.items():
    base = f"opsplan_incident_{_name}_seconds"
    METRICS[f"{base}_bucket"] = counter(f"Incidents that took at most `le` seconds to {_what}, per severity "
                                        "(cumulative histogram buckets)", "severity", "le", unit="seconds")
    METRICS[f"{base}_sum"] = counter(f"Total seconds incidents took to {_what}, per severity", "severity",
                                     unit="seconds")
    METRICS[f"{base}_count"] = counter(f"Incidents {_what}d, per severity", "severity")


def histogram_samples(db: StateDB, severities: list[str]) -> list[Sample]:
    out: list[Sample] = []
    with db.session() as session:
        for name, column in (("ack", IncidentRow.ack_at), ("resolve", IncidentRow.resolved_at)):
            took = column - IncidentRow.opened_at
            columns: list[Any] = [func.sum(case((took <= bound, 1), else_=0)) for bound in BUCKETS]
            rows = session.execute(select(IncidentRow.severity, func.count(), func.sum(took), *columns)
                                   .where(column.is_not(None), IncidentRow.status.not_in(LEFT_OUT))
                                   .group_by(IncidentRow.severity)).all()
            found = {row[0]: row[1:] for row in rows}
            base = f"opsplan_incident_{name}_seconds"
            for severity in severities:
                count, total, *buckets = found.get(severity, (0, 0.0, *([0] * len(BUCKETS))))
                for bound, n in zip(BUCKETS, buckets, strict=True):
                    out.append(sample(f"{base}_bucket", int(n or 0), severity=severity, le=f"{bound:g}"))
                out.append(sample(f"{base}_bucket", int(count or 0), severity=severity, le="+Inf"))
                out.append(sample(f"{base}_sum", float(total or 0.0), severity=severity))
                out.append(sample(f"{base}_count", int(count or 0), severity=severity))
    return out


class HistogramCycle:
    """The stage's per-cycle hook: recount at most every EVERY seconds, export the last counts."""

    def __init__(self, db: StateDB, severities: list[str]):
        self.db, self.severities = db, severities
        self._last: tuple[float, list[Sample]] | None = None

    def __call__(self, cycle: Cycle) -> None:
        now = cycle.timestamp
        if self._last is not None and now < self._last[0]:  # the clock stepped back: count again
            self._last = None
        if self._last is None or now - self._last[0] >= EVERY:
            try:
                self._last = (now, histogram_samples(self.db, self.severities))
            except Exception:  # noqa: BLE001 - a full disk or a busy database: the last counts stand
                if self._last is None:
                    return
        cycle.samples.extend(self._last[1])
