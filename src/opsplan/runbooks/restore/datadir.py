"""The file-level half of a database restore: which chain, is it whole, and swapping datadirs.

The current datadir is never deleted by the restore step: it is renamed to
`<datadir>.opsplan-before-<run id>` (a sibling, so the rename is atomic on one filesystem) and
renamed back if anything fails. Only a successful restore prunes old copies, keeping the newest
`recovery.keep_previous_datadirs`.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import FULL, OK, DbBackup
from opsplan.backup.database.engine import STREAM_FILE
from opsplan.backup.database.verify import rehash
from opsplan.errors import BackupError, RunbookError, said
from opsplan.store.state import StateDB

ASIDE_MARK = ".opsplan-before-"


def aside_path(datadir: Path, run_id: int) -> Path:
    return datadir.with_name(f"{datadir.name}{ASIDE_MARK}{run_id}")


def choose_chain(state_db: StateDB, backup_id: int | None) -> list[DbBackup]:
    """The chain to restore: `backup_id`'s, or the newest ok chain tip's. Detached rows (read-only)."""
    with state_db.session() as session:
        tip: DbBackup | None = (catalog.get_backup(session, backup_id) if backup_id is not None
                                else catalog.last_chain_tip(session))
        if tip is None:
            raise said(RunbookError, "reason.no_backup_to_restore")
        chain = catalog.chain_of(session, tip)
        session.expunge_all()
    return chain


def chain_by_ids(state_db: StateDB, ids: list[int]) -> list[DbBackup]:
    with state_db.session() as session:
        chain = [catalog.get_backup(session, i) for i in ids]
        session.expunge_all()
    return chain


def check_chain(root: Path, chain: list[DbBackup]) -> None:
    """A full first, every member ok and not pruned, each incremental starting at its parent's LSN,
    every stored file present with its catalog size, the small ones with their hash (the streams'
    hashes are checked while they unpack: one read of them). RunbookError names the first problem."""
    try:
        if not chain or chain[0].kind != FULL:
            raise BackupError(f"backup {chain[-1].id if chain else '?'}: its chain does not start with a full")
        for member in chain:
            if member.status != OK:
                raise BackupError(f"backup {member.id} is {member.status}, not ok")
            if member.pruned_at is not None:
                raise BackupError(f"backup {member.id} was pruned ({member.prune_reason or 'retention'})")
        for parent, child in zip(chain, chain[1:], strict=False):
            catalog.check_chain_link(parent, child.from_lsn)
        for member in chain:
            rehash(root, member, skip=frozenset({STREAM_FILE}))
    except BackupError as exc:
        raise RunbookError(str(exc)) from None


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int
    mode: int

    def as_dict(self) -> dict[str, int]:
        return {"uid": self.uid, "gid": self.gid, "mode": self.mode}


def owner_of(path: Path) -> Owner:
    st = path.stat()
    return Owner(st.st_uid, st.st_gid, st.st_mode & 0o7777)


def default_owner() -> Owner:
    """For a datadir that is gone: the `mysql` account if the machine has one, else this process."""
    try:
        entry = pwd.getpwnam("mysql")
        return Owner(entry.pw_uid, entry.pw_gid, 0o750)
    except KeyError:
        return Owner(os.geteuid(), os.getegid(), 0o750)


def chown_tree(top: Path, owner: Owner) -> int:
    """Give every file under `top` to `owner` (symlinks themselves, not their targets); returns the count."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(top):
        for name in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, name), owner.uid, owner.gid, follow_symlinks=False)
            count += 1
    os.chown(top, owner.uid, owner.gid)
    os.chmod(top, owner.mode)
    return count + 1


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def put_back(datadir: Path, aside: Path) -> bool:
    """Undo a swap: the half-restored datadir goes, the previous one comes back. False if nothing to do."""
    if not aside.exists():
        return False
    remove_tree(datadir)
    aside.rename(datadir)
    return True


_RUN = re.compile(r"(\d+)$")


def prune_asides(datadir: Path, keep: int) -> list[Path]:
    """Delete `<datadir>.opsplan-before-*` copies beyond the newest `keep` (by run id); returns them."""
    found = []
    for path in datadir.parent.glob(f"{datadir.name}{ASIDE_MARK}*"):
        match = _RUN.search(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    found.sort(reverse=True)
    removed = [path for _, path in found[keep:]]
    for path in removed:
        shutil.rmtree(path)
    return removed
