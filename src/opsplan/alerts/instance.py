"""One alert instance (a rule on one subject, or one external alert) and how it is stored.

Only changes are written: a new instance, a state change, a notice sent, and the current value
at most once a minute, so 1,000 quiet rules cost no database write per cycle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update

from opsplan.alerts.tables import AlertRow
from opsplan.plan.models import Text
from opsplan.store.state import StateDB, clipped

_COLUMNS = cast(Table, AlertRow.__table__).c
VALUE_WRITE_EVERY = 60.0  # seconds between writes of a changed value while the state stays the same
Key = tuple[tuple[str, str], ...]


def fingerprint_of(rule_id: str, subject: Key) -> str:
    """Stable across restarts and hosts: the rule id and the subject's labels, nothing else."""
    text = rule_id + "\0" + "\0".join(f"{k}={v}" for k, v in subject)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Instance:
    fingerprint: str
    source: str                  # "opsplan" or "prometheus"
    rule_id: str
    alert: str
    severity: str
    labels: dict[str, str]       # alertname, severity, the subject's labels, the rule's labels
    subject: str                 # readable: "mountpoint /", "" for the host
    subject_key: Key             # what Critical-inhibits-Warning compares
    state: str                   # pending | firing | resolved
    value: float | None
    threshold: float | None
    for_s: float
    texts: dict[str, Any]        # summary/description (ko, en, filled in), value/threshold as shown
    annotations: dict[str, str]
    active_since: float
    started_at: float | None = None
    resolved_at: float | None = None
    resolved_reason: str | None = None
    notified: bool = False
    last_notice_at: float | None = None
    inhibited: bool = False
    ack_by: str | None = None
    ack_at: float | None = None
    ack_comment: str | None = None
    row_id: int | None = None
    last_seen: float = 0.0
    value_written_at: float = 0.0
    dirty: bool = True
    silenced: list[str] = field(default_factory=list)

    def text(self, name: str) -> Text:
        entry = self.texts.get(name) or {"ko": "", "en": ""}
        return Text(ko=entry["ko"], en=entry["en"])

    def columns(self, now: float) -> dict[str, Any]:
        """Every column the engine owns (never the ack_* ones: the CLI and API write those)."""
        return {
            # An external alert's name and labels are Alertmanager's, of any length; they are kept
            # whole in `labels` and clipped only where shown (a server refuses a longer VARCHAR).
            "fingerprint": self.fingerprint, "source": self.source, "rule_id": clipped(self.rule_id, _COLUMNS.rule_id),
            "alert": clipped(self.alert, _COLUMNS.alert), "severity": self.severity,
            "labels": json.dumps(self.labels, sort_keys=True),
            "subject": clipped(self.subject, _COLUMNS.subject), "state": self.state, "value": self.value,
            "threshold": self.threshold,
            "for_s": self.for_s, "texts": json.dumps(self.texts, ensure_ascii=False),
            "annotations": json.dumps(self.annotations, ensure_ascii=False), "active_since": self.active_since,
            "started_at": self.started_at, "resolved_at": self.resolved_at,
            "resolved_reason": self.resolved_reason, "notified": self.notified,
            "last_notice_at": self.last_notice_at, "inhibited": self.inhibited, "updated_at": now,
        }


def load_active(db: StateDB, now: float) -> list[Instance]:
    """Instances not yet resolved, as the last engine left them."""
    with db.session() as session:
        rows = session.scalars(select(AlertRow).where(AlertRow.resolved_at.is_(None))).all()
    instances = []
    for row in rows:
        labels = json.loads(row.labels)
        instances.append(Instance(
            fingerprint=row.fingerprint, source=row.source, rule_id=_whole(row.rule_id, labels, "external."),
            alert=_whole(row.alert, labels), severity=row.severity, labels=labels, subject=row.subject,
            subject_key=subject_key(labels),
            state=row.state, value=row.value, threshold=row.threshold, for_s=row.for_s,
            texts=json.loads(row.texts), annotations=json.loads(row.annotations), active_since=row.active_since,
            started_at=row.started_at, notified=row.notified, last_notice_at=row.last_notice_at,
            inhibited=row.inhibited, ack_by=row.ack_by, ack_at=row.ack_at, ack_comment=row.ack_comment,
            row_id=row.id, last_seen=now, value_written_at=now, dirty=False))
    return instances


def _whole(stored: str, labels: dict[str, str], prefix: str = "") -> str:
    """The alert name (or external rule id) as it was before `clipped` cut it: from the labels."""
    name = labels.get("alertname")
    if name and stored.endswith("\u2026") and (prefix + name).startswith(stored[:-1]):
        return prefix + name
    return stored


def subject_key(labels: dict[str, str]) -> Key:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("alertname", "severity")))


def persist(db: StateDB, changed: Iterable[Instance], gone_rows: Iterable[int], now: float) -> None:
    """One transaction: new rows, changed rows, the rows of pending instances whose condition went away."""
    changed = list(changed)
    gone = list(gone_rows)
    if not changed and not gone:
        return
    table = cast(Table, AlertRow.__table__)
    new = [i for i in changed if i.row_id is None]
    old = [i for i in changed if i.row_id is not None]
    # executemany with bound parameters: one compiled statement per kind, not one per row.
    # New rows learn their id only once the transaction is committed: a failed commit (a full
    # disk) leaves them new, to be inserted again, rather than pointing at a row that is not there.
    row_ids: list[int] = []
    with db.session() as session:
        if gone:
            session.execute(delete(table).where(table.c.id == bindparam("row_id")),
                            [{"row_id": row_id} for row_id in gone])
        if old:
            columns = old[0].columns(now)
            statement = update(table).where(table.c.id == bindparam("row_id")).values(
                {name: bindparam(f"v_{name}") for name in columns})
            session.execute(statement, [{"row_id": i.row_id, **{f"v_{k}": v for k, v in i.columns(now).items()}}
                                        for i in old])
        if new:
            result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                     [i.columns(now) for i in new])
            row_ids = [int(row_id) for (row_id,) in result.all()]
    for inst, row_id in zip(new, row_ids, strict=True):
        inst.row_id = row_id
    for inst in changed:
        inst.dirty = False
        inst.value_written_at = now


def read_acks(db: StateDB) -> dict[str, tuple[str | None, float | None, str | None]]:
    """Acknowledgements of unresolved alerts, which the CLI or API may have written meanwhile."""
    with db.session() as session:
        rows = session.execute(select(AlertRow.fingerprint, AlertRow.ack_by, AlertRow.ack_at, AlertRow.ack_comment)
                               .where(AlertRow.resolved_at.is_(None), AlertRow.ack_at.is_not(None))).all()
    return {fp: (by, at, comment) for fp, by, at, comment in rows}
