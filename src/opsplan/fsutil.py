"""Filesystem helpers below every engine and runbook: a lock per target, enough space, private modes,
quiet removal, directory sizes.

Shared by the backup engines, the runbooks and the collectors; nothing here knows about MariaDB.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psutil

from opsplan import format as fmt
from opsplan.errors import BackupError

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700 and make sure an existing one is 0700 too."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        # mkdir(parents=True) gives the parents it creates the umask's mode: those are ours too.
        for created in (path, *missing):
            os.chmod(created, DIR_MODE)
    except OSError as exc:
        raise BackupError(f"cannot create the private directory {path}: {exc.strerror or exc}") from None
    return path


@contextmanager
def private_umask() -> Iterator[None]:
    """Files and directories created inside the block (also by child processes) are private."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def open_private(path: Path, *, exclusive: bool = True) -> IO[bytes]:
    """Open `path` for binary writing with mode 0600 from the first byte (no window where it is readable)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # O_CREAT's mode is filtered by the umask; an existing file keeps its old mode
    return os.fdopen(fd, "wb")


def write_private_text(path: Path, text: str) -> None:
    with open_private(path, exclusive=False) as handle:
        handle.write(text.encode("utf-8"))


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- space -----------------------------------------------------------------------------------------

def free_bytes(directory: Path) -> int:
    """Free space for an unprivileged writer on the filesystem holding `directory` (or its nearest parent)."""
    probe = Path(directory)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def ensure_space(directory: Path, needed_bytes: int) -> int:
    """Raise a one-line BackupError naming both figures when `directory` has less than `needed_bytes` free."""
    free = free_bytes(directory)
    if free < needed_bytes:
        raise BackupError(
            f"not enough space in {directory}: {fmt.size(needed_bytes, style='binary')} needed, "
            f"{fmt.size(free, style='binary')} free")
    return free


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


# --- one backup per target at a time ----------------------------------------------------------------

def lock_path(directory: Path, target: str) -> Path:
    return Path(directory) / f".{target}.lock"


class LockBusy(BackupError):
    """The lock is held by another process; `holder` is what it wrote there ("" for a plain backup)."""

    def __init__(self, message: str, *, pid: int | None, holder: str) -> None:
        super().__init__(message)
        self.pid, self.holder = pid, holder


@contextmanager
def target_lock(directory: Path, target: str, holder: str = "") -> Iterator[Path]:
    """Hold an exclusive lock for `target` in `directory` for the block.

    flock is released by the kernel when the holder dies (even by SIGKILL), so a stale lock file
    never blocks the next run; the pid written in it (and `holder`, e.g. "database restore (run 4)",
    on the next line) is only there to name the holder. LockBusy when another process holds it.
    """
    private_dir(Path(directory))
    path = lock_path(directory, target)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise BackupError(f"cannot lock {path}: {exc.strerror or exc}") from None
            pid, by = _read_holder(fd)
            who = f" (pid {pid})" if pid else ""
            what = f"{by} is running" if by else f"another {target} backup is already running"
            raise LockBusy(f"{what}{who}; lock {path}", pid=pid, holder=by) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{holder}\n".encode() if holder else f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing drops the flock


def _read_holder(fd: int) -> tuple[int | None, str]:
    try:
        lines = os.pread(fd, 256, 0).decode("utf-8", "replace").splitlines()
    except OSError:
        return None, ""
    try:
        pid = int(lines[0].strip()) if lines and lines[0].strip() else None
    except ValueError:
        pid = None
    return pid, lines[1].strip() if len(lines) > 1 else ""


# --- was the process that wrote a 'running' row killed? ---------------------------------------------

def process_start_time(pid: int | None = None) -> float:
    """The process's start time (seconds since the epoch): with the pid it tells a reused pid apart."""
    return float(psutil.Process(pid if pid is not None else os.getpid()).create_time())


def process_alive(pid: int, start_time: float | None) -> bool:
    """True when `pid` still runs and is the same process that started at `start_time`."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        started = proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        return False
    return start_time is None or abs(started - start_time) < 1.0


def remove_quietly(path: Path) -> bool:
    """Remove a file or directory tree; True when something was removed."""
    path = Path(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        return True
    except FileNotFoundError:
        return False


def directory_bytes(path: Path) -> int | None:
    """Sum of regular file sizes under `path` (symlinks not followed); None if any part is unreadable.

    A partial sum would look like a shrinking database, so an unreadable subdirectory means None.
    """
    total = 0
    stack = [str(path)]
    try:
        while stack:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
                    elif stat.S_ISREG(st.st_mode):
                        total += st.st_size
    except OSError:
        return None
    return total
