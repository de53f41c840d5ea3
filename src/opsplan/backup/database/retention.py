"""Retention of database backups: a recovery window, as Barman's RecoveryWindowRetentionPolicy.

To restore any moment of the last N days, the newest full that finished before the window's
start stays with its incrementals, and so does everything newer. On top of that:
- a full is never removed while a kept incremental depends on it;
- the newest valid chain is never removed, whatever its age;
- failed attempts never count as valid; their rows are closed and any files left removed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from opsplan import format as fmt
from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import FAILED, FULL, OK, DbBackup
from opsplan.fsutil import remove_quietly
from opsplan.i18n import t
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Removal:
    """One backup to remove, and why (an i18n key and its values)."""

    backup_id: int
    key: str
    values: dict[str, object] = field(default_factory=dict)

    def reason(self, language: str = "en") -> str:
        return t(self.key, language, **self.values)


class RetentionPolicy(Protocol):
    def obsolete(self, backups: Sequence[DbBackup], now: float) -> list[Removal]: ...


class RecoveryWindowPolicy:
    def __init__(self, window_seconds: float, *, timezone: str = "UTC"):
        self.window = float(window_seconds)
        self.tz = ZoneInfo(timezone)

    def _day(self, ts: float) -> str:
        return fmt.local_time(ts, self.tz, seconds=False)

    def obsolete(self, backups: Sequence[DbBackup], now: float) -> list[Removal]:
        removals = [Removal(b.id, "backup.prune.failed", {"reason": b.reason or "?"})
                    for b in backups if b.status == FAILED]
        by_id = {b.id: b for b in backups}
        ok = [b for b in backups if b.status == OK]
        chains: dict[int, list[DbBackup]] = {b.id: [b] for b in ok if b.kind == FULL}
        for b in ok:
            if b.kind == FULL:
                continue
            if b.full_id is not None and b.full_id in chains:
                chains[b.full_id].append(b)
            else:
                removals.append(Removal(b.id, "backup.prune.orphan", {"full": b.full_id}))
        if not chains:
            return removals
        fulls = sorted((members[0] for members in chains.values()), key=lambda f: f.started_at)
        window_start = now - self.window
        covering = [f for f in fulls if (f.finished_at or f.started_at) <= window_start]
        if not covering:
            return removals  # every chain is (partly) inside the window
        base = covering[-1]
        newest = fulls[-1]
        newest_chain = {b.id for b in chains[newest.id]}
        # Older than the base full: not needed for any moment of the window (unless kept below).
        doomed = [b for b in ok if b.started_at < base.started_at and b.id not in newest_chain
                  and (b.kind == FULL or (b.full_id is not None and b.full_id in chains))]
        kept_ids = {b.id for b in ok} - {b.id for b in doomed}
        needed = _ancestors(kept_ids, by_id)
        for b in doomed:
            if b.id in needed:
                log.info("retention: keeping backup %d, a kept incremental depends on it", b.id)
                continue
            removals.append(Removal(b.id, "backup.prune.window", {
                "days": round(self.window / 86400), "base": base.id, "when": self._day(base.started_at)}))
        return removals


def _ancestors(kept: set[int], by_id: dict[int, DbBackup]) -> set[int]:
    """Every backup a kept one depends on (its parents up to the full)."""
    needed: set[int] = set()
    for backup_id in kept:
        parent = by_id[backup_id].parent_id if backup_id in by_id else None
        while parent is not None and parent not in needed:
            needed.add(parent)
            parent = by_id[parent].parent_id if parent in by_id else None
    return needed


def policy_from_plan(plan: Plan) -> RetentionPolicy:
    return RecoveryWindowPolicy(plan.backup.database.retention, timezone=plan.timezone)


def prune(
    plan: Plan,
    state_db: StateDB,
    *,
    clock: Callable[[], float] = time.time,
    dry_run: bool = False,
    policy: RetentionPolicy | None = None,
) -> list[Removal]:
    """Apply the policy: remove each obsolete backup's files and close its catalog row (kept, as history)."""
    from opsplan.backup.database.engine import database_root

    policy = policy or policy_from_plan(plan)
    root = database_root(plan)
    now = clock()
    with state_db.session() as session:
        backups = catalog.all_backups(session)
        removals = policy.obsolete(backups, now)
        if dry_run:
            return removals
        by_id = {b.id: b for b in backups}
        for removal in removals:
            row = by_id[removal.backup_id]
            if row.directory:
                remove_quietly(root / row.directory)
            row.pruned_at, row.prune_reason = now, removal.reason("en")
            log.info("retention: removed database backup %d (%s)", row.id, row.prune_reason)
    from opsplan.backup.binlogs.archive import prune_binlogs  # same window: binlogs no kept backup can replay

    prune_binlogs(plan, state_db, clock=clock)
    return removals
