"""Verify database backups: re-hash the stored files; `deep` also prepares the chain on scratch copies.

A deep verify unpacks the full and each incremental up to the backup into a scratch directory
and runs `mariabackup --prepare` on the full, then with `--incremental-dir` for each incremental,
in order. Only copies are prepared: a failed prepare can alter an incremental in place.
The restore runbook reuses `prepare_chain` to build the datadir it restores.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opsplan.backup import catalog
from opsplan.backup.catalog import OK, DbBackup
from opsplan.backup.database import database_root
from opsplan.backup.hashing import hash_file
from opsplan.backup.mariabackup import Mariabackup, first_error
from opsplan.backup.safety import private_dir, remove_quietly
from opsplan.backup.stream import decompress_to
from opsplan.errors import BackupError
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyResult:
    backup_id: int
    ok: bool
    deep: bool
    reason: str | None = None


def rehash(root: Path, backup: DbBackup) -> None:
    """Raise BackupError naming the first stored file that is missing or differs from the catalog."""
    if not backup.files:
        raise BackupError(f"backup {backup.id} has no stored files in the catalog")
    for stored in backup.files:
        path = root / (backup.directory or "") / stored.name
        if not path.is_file():
            raise BackupError(f"{stored.name} of backup {backup.id} is missing")
        size = path.stat().st_size
        if size != stored.size:
            raise BackupError(f"{stored.name} of backup {backup.id} has {size} bytes, the catalog says {stored.size}")
        if hash_file(path) != stored.hash:
            raise BackupError(f"{stored.name} of backup {backup.id} does not match its {stored.hash_algorithm} hash")


def unpack(root: Path, backup: DbBackup, dest: Path, tool: Mariabackup) -> Path:
    """Decompress a stored stream into `dest` through mbstream -x."""
    from opsplan.backup.database import STREAM_FILE

    private_dir(dest)
    source = root / (backup.directory or "") / STREAM_FILE
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(tool.unpack_args(dest), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=errors)
        assert proc.stdin is not None
        try:
            decompress_to(source, proc.stdin)
            proc.stdin.close()
        except Exception as exc:
            proc.kill()
            proc.wait()
            raise BackupError(f"cannot unpack backup {backup.id}: {exc}") from None
        rc = proc.wait()
        if rc != 0:
            errors.seek(0)
            raise BackupError(f"mbstream failed on backup {backup.id}: "
                              f"{first_error(errors.read().decode(errors='replace'))}")
    return dest


def prepare_chain(root: Path, chain: list[DbBackup], scratch: Path, tool: Mariabackup) -> Path:
    """Unpack and prepare `chain` (full first) under `scratch`; returns the prepared datadir copy."""
    full = unpack(root, chain[0], scratch / f"{chain[0].id}-full", tool)
    tool.prepare(full)
    for incremental in chain[1:]:
        inc_dir = unpack(root, incremental, scratch / f"{incremental.id}-incremental", tool)
        tool.prepare(full, incremental_dir=inc_dir)
        remove_quietly(inc_dir)  # scratch space is finite: one incremental at a time
    return full


def verify_backup(
    plan: Plan,
    state_db: StateDB,
    backup_id: int,
    *,
    deep: bool = False,
    clock: Callable[[], float] = time.time,
    tool: Mariabackup | None = None,
    scratch_dir: Path | None = None,
    keep_prepared: Path | None = None,
) -> VerifyResult:
    """Verify one backup and record the result (and its time) in the catalog.

    `keep_prepared`: move the prepared datadir there instead of deleting it (tests, restore drills).
    """
    tool = tool or Mariabackup()
    root = database_root(plan)
    with state_db.session() as session:
        backup = catalog.get_backup(session, backup_id)
        chain = catalog.chain_of(session, backup) if deep else [backup]
    try:
        if backup.status != OK:
            raise BackupError(f"backup {backup_id} is {backup.status}, not ok")
        for member in chain:
            rehash(root, member)
        if deep:
            parent = private_dir(scratch_dir or Path(plan.backup.directory) / ".scratch")
            scratch = Path(tempfile.mkdtemp(prefix=f"verify-{backup_id}-", dir=parent))
            try:
                prepared = prepare_chain(root, chain, scratch, tool)
                if keep_prepared is not None:
                    prepared.rename(keep_prepared)
            finally:
                remove_quietly(scratch)
        result = VerifyResult(backup_id, True, deep)
    except BackupError as exc:
        result = VerifyResult(backup_id, False, deep, str(exc))
    _record(state_db, [m.id for m in chain] if (deep and result.ok) else [backup_id], result, clock())
    log.info("verify backup %d (%s): %s", backup_id, "deep" if deep else "hashes",
             "ok" if result.ok else result.reason)
    return result


def _record(state_db: StateDB, backup_ids: list[int], result: VerifyResult, when: float) -> None:
    with state_db.session() as session:
        for backup_id in backup_ids:
            row = catalog.get_backup(session, backup_id)
            row.verified_at, row.verify_deep = when, result.deep
            row.verify_status = "ok" if result.ok else "failed"
            row.verify_reason = result.reason


def verify_all(plan: Plan, state_db: StateDB, *, deep: bool = False, **kwargs: object) -> list[VerifyResult]:
    """Every kept ok backup; deep verifies each chain once through its newest member."""
    with state_db.session() as session:
        backups = [b for b in catalog.all_backups(session) if b.status == OK]
    if deep:
        has_child = {b.parent_id for b in backups if b.parent_id is not None}
        targets = [b.id for b in backups if b.id not in has_child]
    else:
        targets = [b.id for b in backups]
    return [verify_backup(plan, state_db, backup_id, deep=deep, **kwargs) for backup_id in targets]  # type: ignore[arg-type]
