"""The backup locks a database restore holds for its whole run.

The restore takes the database backup lock and the binlog archiving lock (the same flock files the
backup engine and the archiver take), so a backup or binlog pass that starts meanwhile skips with a
reason instead of reading a stopped server or a datadir being swapped. The locks are held by this
process from the first step until the runbook's `finally`; the restore's own steps take no other
backup lock, so they are never blocked by it. A backup already running makes the restore fail
before it changes anything.
"""

from __future__ import annotations

from contextlib import ExitStack

from opsplan.backup.binlogs.archive import TARGET as BINLOG_TARGET
from opsplan.backup.binlogs.archive import binlog_root
from opsplan.backup.database.engine import TARGET as DATABASE_TARGET
from opsplan.backup.database.engine import database_root
from opsplan.backup.restore_lock import restore_holder
from opsplan.errors import BackupError, RunbookError
from opsplan.fsutil import target_lock
from opsplan.plan.models import Plan


class RestoreLocks:
    """Acquire once (idempotent), release once; RunbookError when a backup holds either lock."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._stack: ExitStack | None = None

    @property
    def held(self) -> bool:
        return self._stack is not None

    def acquire(self, run_id: int) -> None:
        if self._stack is not None:
            return
        stack = ExitStack()
        holder = restore_holder(run_id)
        try:
            stack.enter_context(target_lock(database_root(self.plan), DATABASE_TARGET, holder))
            stack.enter_context(target_lock(binlog_root(self.plan), BINLOG_TARGET, holder))
        except BackupError as exc:
            stack.close()
            raise RunbookError(f"cannot restore now: {exc}") from None
        self._stack = stack

    def release(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()
