"""The data directory's reserve: a preallocated file given back to the filesystem when it fills.

When a write under the data directory fails for want of space, deleting the reserve frees room
at once, so the state database can still record alert states and notifications while the
operator clears the disk. The reserve is made again once the filesystem has twice its size free.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from opsplan import format as fmt
from opsplan.fsutil import FILE_MODE

log = logging.getLogger(__name__)

RESERVE_NAME = ".reserve"
RESERVE_BYTES = 8 * 1024 * 1024
SMALL_DISK_SHARE = 16  # on a small filesystem the reserve is at most 1/16 of it


def reserve_size(directory: Path) -> int:
    """8 MiB, or 1/16 of the filesystem when that is smaller (a tiny disk keeps most of its room)."""
    try:
        total = shutil.disk_usage(directory).total
    except OSError:
        return RESERVE_BYTES
    return max(4096, min(RESERVE_BYTES, total // SMALL_DISK_SHARE))


class DiskReserve:
    def __init__(self, directory: Path, size: int | None = None):
        self.directory = Path(directory)
        self.path = self.directory / RESERVE_NAME
        self.size = size if size is not None else reserve_size(self.directory)
        self._lock = threading.Lock()
        self._released = False  # given back (or never made for want of room): the disk is full

    @property
    def released(self) -> bool:
        return self._released

    def describe(self) -> str:
        return f"{self.path} ({fmt.size(self.size, style='binary')})"

    def ensure(self) -> bool:
        """Make the reserve if it is missing and there is room for it twice over; True when it is there."""
        with self._lock:
            if self._has_file():
                self._set_released(False)
                return True
            try:
                free = shutil.disk_usage(self.directory).free
            except OSError:
                return False
            if free < 2 * self.size:
                if not self._released:
                    log.error("data disk full: no room for the reserve %s; free space under %s",
                              self.describe(), self.directory)
                self._released = True
                return False
            try:
                self._allocate()
            except OSError as exc:
                _unlink(self.path)
                if not self._released:
                    log.warning("cannot make the data disk reserve %s: %s", self.describe(), exc.strerror or exc)
                self._released = True
                return False
            self._set_released(False)
            return True

    def release(self) -> bool:
        """Give the reserve's room back to the filesystem; True when there was a reserve to give."""
        with self._lock:
            removed = _unlink(self.path)
            self._set_released(True)
            return removed

    def _has_file(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size
        except OSError:
            return False

    def _allocate(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            # Real blocks, not a sparse file: giving them back must free room.
            os.posix_fallocate(fd, 0, self.size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _set_released(self, released: bool) -> None:
        if released == self._released:
            return
        self._released = released
        if released:
            log.error("data disk full: the reserve %s is given back so the state database can write "
                      "(the metrics store pauses); free space under %s", self.describe(), self.directory)
        else:
            log.warning("data disk reserve %s is in place again", self.describe())


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
