"""Verify database backups: re-hash the stored files; `deep` also prepares the chain on scratch copies.

A deep verify unpacks the full and each incremental up to the backup into a scratch directory
and runs `mariabackup --prepare` on the full, then with `--incremental-dir` for each incremental,
in order. Only copies are prepared: a failed prepare can alter an incremental in place.
The restore runbook reuses `prepare_chain` to build the datadir it restores.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import OK, DbBackup
from opsplan.backup.database.engine import STREAM_FILE, database_root
from opsplan.backup.database.mariabackup import Mariabackup, first_error
from opsplan.backup.hashing import StreamHasher, hash_file
from opsplan.backup.stream import chunks, decompress_to
from opsplan.errors import BackupError
from opsplan.fsutil import private_dir, remove_quietly
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyResult:
    backup_id: int
    ok: bool
    deep: bool
    reason: str | None = None


class HashMismatch(BackupError):
    """A stored file's bytes differ from the hash the catalog recorded when it was written."""


def rehash(root: Path, backup: DbBackup, *, skip: frozenset[str] = frozenset()) -> None:
    """Raise BackupError naming the first stored file that is missing or differs from the catalog.

    `skip`: names whose size is checked here but whose hash the caller checks while reading them
    anyway (`unpack(..., check_hash=True)`), so the data is read once.
    """
    if not backup.files:
        raise BackupError(f"backup {backup.id} has no stored files in the catalog")
    for stored in backup.files:
        path = root / (backup.directory or "") / stored.name
        if not path.is_file():
            raise BackupError(f"{stored.name} of backup {backup.id} is missing")
        size = path.stat().st_size
        if size != stored.size:
            raise BackupError(f"{stored.name} of backup {backup.id} has {size} bytes, the catalog says {stored.size}")
        if stored.name not in skip and hash_file(path, algorithm=stored.hash_algorithm) != stored.hash:
            raise HashMismatch(_mismatch(backup, stored.name, stored.hash_algorithm))


def _mismatch(backup: DbBackup, name: str, algorithm: str) -> str:
    return f"{name} of backup {backup.id} does not match its {algorithm} hash"


def unpack(root: Path, backup: DbBackup, dest: Path, tool: Mariabackup, *, check_hash: bool = False) -> Path:
    """Decompress a stored stream into `dest` through mbstream -x.

    `check_hash`: hash the stored file while it unpacks (one pass over it) and raise HashMismatch
    when it differs from the catalog (after the unpack: the caller must not trust `dest` then).
    """
    private_dir(dest)
    source = root / (backup.directory or "") / STREAM_FILE
    stored = next((f for f in backup.files if f.name == STREAM_FILE), None) if check_hash else None
    if check_hash and stored is None:
        raise BackupError(f"{STREAM_FILE} of backup {backup.id} is not in the catalog")
    hasher = StreamHasher(stored.hash_algorithm) if stored is not None else None
    zstd = shutil.which("zstd")
    with tempfile.TemporaryFile() as errors:
        decoder: subprocess.Popen[bytes] | None = None
        feed: IO[bytes] | None = None
        if zstd is not None:
            # `zstd -d FILE | mbstream -x`, exactly as an operator would type it: decompression and
            # mbstream's writes run in their own processes, and this process only hashes the stored
            # file alongside (the same pages, from the page cache), so the hash adds no pipe hop.
            decoder = subprocess.Popen([zstd, "-d", "-q", "-c", str(source)], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=errors)
            assert decoder.stdout is not None
            proc = subprocess.Popen(tool.unpack_args(dest), stdin=decoder.stdout, stdout=subprocess.DEVNULL,
                                    stderr=errors)
            decoder.stdout.close()
        else:
            proc = subprocess.Popen(tool.unpack_args(dest), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=errors)
            assert proc.stdin is not None
            feed = proc.stdin
        procs = [p for p in (decoder, proc) if p is not None]
        try:
            if feed is None:
                if hasher is not None:
                    _hash_into(source, hasher)
            else:
                decompress_to(source, feed, hasher=hasher)
                feed.close()
        except Exception as exc:
            for p in procs:
                p.kill()
                p.wait()
            if stored is not None:  # corrupt bytes usually break the decompressor: say which check failed
                rehash(root, backup)
            raise BackupError(f"cannot unpack backup {backup.id}: {exc}") from None
        rcs = [p.wait() for p in procs]
        if any(rcs):
            if stored is not None:
                rehash(root, backup)
            errors.seek(0)
            what = "mbstream" if rcs[-1] else "zstd -d"  # zstd dies of a broken pipe when mbstream failed
            raise BackupError(f"{what} failed on backup {backup.id}: "
                              f"{first_error(errors.read().decode(errors='replace'))}")
    if stored is not None and hasher is not None and (hasher.hexdigest() != stored.hash
                                                      or hasher.bytes != stored.size):
        raise HashMismatch(_mismatch(backup, stored.name, stored.hash_algorithm))
    return dest


def _hash_into(path: Path, hasher: StreamHasher) -> None:
    with open(path, "rb") as handle:
        for chunk in chunks(handle):
            hasher.update(chunk)


def prepare_chain(root: Path, chain: list[DbBackup], scratch: Path, tool: Mariabackup, *,
                  check_hash: bool = False) -> Path:
    """Unpack and prepare `chain` (full first) under `scratch`; returns the prepared datadir copy.

    `check_hash`: each stored stream's hash is checked as it unpacks (one read of it; HashMismatch).
    """
    full = unpack(root, chain[0], scratch / f"{chain[0].id}-full", tool, check_hash=check_hash)
    tool.prepare(full)
    for incremental in chain[1:]:
        inc_dir = unpack(root, incremental, scratch / f"{incremental.id}-incremental", tool, check_hash=check_hash)
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
        # A deep verify reads each stream once: its hash is checked while it unpacks.
        for member in chain:
            rehash(root, member, skip=frozenset({STREAM_FILE}) if deep else frozenset())
        if deep:
            parent = private_dir(scratch_dir or Path(plan.backup.directory) / ".scratch")
            scratch = Path(tempfile.mkdtemp(prefix=f"verify-{backup_id}-", dir=parent))
            try:
                prepared = prepare_chain(root, chain, scratch, tool, check_hash=True)
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
