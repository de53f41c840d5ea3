"""How a restore names itself in the backup locks, and what a backup that finds it there says.

A restore holds the database backup lock and the binlog archiving lock for its whole run (see
`runbooks/restore/locks.py`), so a scheduled backup or binlog pass never reads a server, a datadir
or an archive that the restore is swapping underneath it: it skips with one line instead.
"""

from __future__ import annotations

from opsplan.errors import BackupSkipped
from opsplan.fsutil import LockBusy

RESTORE_HOLDER = "database restore"


def restore_holder(run_id: int) -> str:
    return f"{RESTORE_HOLDER} (run {run_id})"


def skipped_for_restore(exc: LockBusy, what: str) -> BackupSkipped | None:
    """BackupSkipped naming the restore when a restore holds the lock; None when it is another backup."""
    if not exc.holder.startswith(RESTORE_HOLDER):
        return None
    who = f" (pid {exc.pid})" if exc.pid else ""
    return BackupSkipped(f"{what} skipped: {exc.holder} is in progress{who}; it runs again at its next time")
