"""Append-only logs of framed records: u32 length, u32 CRC32, payload.

A record is written with one write() call, so a killed writer leaves either the whole record or
(after a power loss) a torn tail, which the CRC exposes and `recover` truncates.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from pathlib import Path

from opsplan.errors import StoreError

log = logging.getLogger(__name__)

_FRAME = struct.Struct("<II")
MAX_RECORD = 1 << 30


def frame(payload: bytes) -> bytes:
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def read_records(data: bytes) -> tuple[list[bytes], int]:
    """The intact records at the start of `data` and the length they span."""
    out: list[bytes] = []
    pos = 0
    mv = memoryview(data)
    while pos + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, pos)
        end = pos + _FRAME.size + length
        if length > MAX_RECORD or end > len(data):
            break
        payload = bytes(mv[pos + _FRAME.size : end])
        if zlib.crc32(payload) != crc:
            break
        out.append(payload)
        pos = end
    return out, pos


def recover(path: Path) -> list[bytes]:
    """Read a log, cutting off a torn or corrupt tail so later appends follow intact records."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror}") from e
    records, good = read_records(data)
    if good < len(data):
        log.warning("%s: truncating %d bytes of torn or corrupt tail", path, len(data) - good)
        try:
            with open(path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise StoreError(f"cannot truncate torn tail of {path}: {e.strerror}") from e
    return records


def read_intact(path: Path) -> list[bytes] | None:
    """The intact records of a log, touching nothing (a read-only reader beside the writer: a torn
    tail may be a record being written right now); None when the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror}") from e
    return read_records(data)[0]


class LogWriter:
    def __init__(self, path: Path, *, sync: bool):
        self.path = path
        self.sync = sync
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._size = os.fstat(self._fd).st_size
        except OSError as e:
            raise StoreError(f"cannot open {path}: {e.strerror}") from e

    def append(self, payloads: list[bytes]) -> None:
        data = b"".join(frame(p) for p in payloads)
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, view[written:])
            if self.sync:
                os.fdatasync(self._fd)
        except OSError as e:
            # Leave no half record behind for the next append to follow.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise StoreError(f"cannot write {self.path}: {e.strerror}") from e
        self._size += len(data)

    @property
    def size(self) -> int:
        return self._size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
