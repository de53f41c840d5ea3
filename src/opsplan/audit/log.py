"""Write, read and verify the audit log (the table in the state database)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from opsplan.audit.tables import HEAD_ID, AuditEntry, AuditHead
from opsplan.hashchain import GENESIS, entry_hash
from opsplan.masking import mask
from opsplan.store.state import StateDB

# Why a chain is broken (the `reason` of Broken; the CLI says each in words).
CHANGED = "changed"    # the entry's fields no longer give its hash: edited after it was written
LINK = "link"          # its prev_hash is not the hash of the entry before: one was deleted or inserted
TAIL = "tail"          # the head row names a later entry than the table's last: newest ones deleted


@dataclass(frozen=True, slots=True)
class Broken:
    entry_id: int | None  # None: the head does not match (the table is shorter than it was)
    reason: str


@dataclass(frozen=True, slots=True)
class Verified:
    entries: int
    broken: Broken | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _stored_arguments(details: dict[str, Any] | None) -> str:
    return json.dumps(mask(details or {}), ensure_ascii=False, sort_keys=True, default=str)


def record(db: StateDB, actor: str, action: str, target: str = "", details: dict[str, Any] | None = None, *,
           at: float | None = None, kind: str | None = None, run_id: int | None = None,
           outcome: str | None = None, detail: str | None = None) -> dict[str, Any]:
    """Append one entry: `actor` did `action` to `target`, with `details` (values under secret-named
    keys are masked). One transaction takes the head row's lock, reads the last hash, inserts the
    entry chained to it and moves the head. Returns the entry as written (with its id and hash)."""
    fields: dict[str, Any] = {"at": time.time() if at is None else float(at), "actor": actor, "action": action,
                              "target": target, "kind": kind, "run_id": run_id,
                              "arguments": _stored_arguments(details), "outcome": outcome, "detail": detail}
    with db.session() as session:
        # Write first: the UPDATE takes the lock (row lock; SQLite's database write lock) before the read.
        result = session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID)
                                 .values(entries=AuditHead.entries))
        locked = getattr(result, "rowcount", 0)
        if not locked:
            session.add(AuditHead(id=HEAD_ID, hash=GENESIS, entries=0))
            session.flush()
        head = session.execute(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()).scalar_one()
        prev = head.hash
        digest = entry_hash(fields, prev)
        row = AuditEntry(**fields, prev_hash=prev, hash=digest)
        session.add(row)
        head.hash, head.entries = digest, head.entries + 1
        session.flush()
        entry_id = row.id
    return {"id": entry_id, **fields, "arguments": json.loads(fields["arguments"]), "prev_hash": prev,
            "hash": digest}


def _as_dict(e: AuditEntry) -> dict[str, Any]:
    try:
        arguments = json.loads(e.arguments) if e.arguments else {}
    except ValueError:
        arguments = {}
    return {"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "kind": e.kind,
            "run_id": e.run_id, "arguments": arguments, "outcome": e.outcome, "detail": e.detail,
            "hash": e.hash}


def entries(db: StateDB, *, since: float | None = None, run_id: int | None = None,
            limit: int | None = 200) -> list[dict[str, Any]]:
    """The newest entries first (at most `limit`; None: all), from `since` (UTC unix seconds) on."""
    with db.session() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc())
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if run_id is not None:
            query = query.where(AuditEntry.run_id == run_id)
        if limit is not None:
            query = query.limit(limit)
        return [_as_dict(e) for e in session.scalars(query).all()]


def verify(db: StateDB) -> Verified:
    """Walk the chain from the first entry; stop at the first entry that does not hold."""
    expected_prev, count = GENESIS, 0
    with db.session() as session:
        for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=500)):
            fields = {"at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "kind": e.kind,
                      "run_id": e.run_id, "arguments": e.arguments, "outcome": e.outcome, "detail": e.detail}
            if e.prev_hash != expected_prev:
                return Verified(count, Broken(e.id, LINK))
            if entry_hash(fields, e.prev_hash) != e.hash:
                return Verified(count, Broken(e.id, CHANGED))
            expected_prev, count = e.hash, count + 1
        head = session.get(AuditHead, HEAD_ID)
    if (head.hash if head else GENESIS) != expected_prev or (head.entries if head else 0) != count:
        return Verified(count, Broken(None, TAIL))
    return Verified(count, None)
