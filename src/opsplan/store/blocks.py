"""Immutable block files and the manifest that says which of them are live.

A block holds, per series, one zstd frame of raw samples (dropped when raw retention ends) and
one of 5-minute rollups, followed by a series table (sorted by series id) so a one-series query
reads two small ranges of the file and nothing else.

Format 2 (magic OPSBLK2) adds one zstd frame of the block's cycle times, stored once: the raw
chunk of a series present in every cycle holds its values alone (see `codec.encode_raw`). Its raw
blocks carry no rollups (an empty rollup chunk): they are built from the raw samples when raw
retention drops them. Format 1 blocks, written before, are still read; merging rewrites them in
format 2.

Blocks are written under a temporary name, fsynced and renamed; they only count once the
manifest that lists them has been renamed into place, so a crash at any point leaves either the
old set of blocks or the new one.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import zstandard

from opsplan.errors import StoreError
from opsplan.store import codec

MAGIC_V1 = b"OPSBLK1\n"
MAGIC = b"OPSBLK2\n"
FORMAT = 2  # what new blocks are written in
_MAGICS = {MAGIC_V1: 1, MAGIC: 2}
END_MAGIC = b"OPSBEND\n"
_FOOTER = struct.Struct("<QII I8s")  # meta offset, meta length, table length, crc of both, magic

TABLE_DTYPE = np.dtype(
    [
        ("sid", "<u4"),
        ("count", "<u4"),  # raw samples this entry stands for (kept after raw is dropped)
        ("rows", "<u4"),  # rollup rows
        ("tmin", "<i8"),
        ("tmax", "<i8"),
        ("last", "<f8"),
        ("raw_off", "<u8"),
        ("raw_len", "<u4"),
        ("roll_off", "<u8"),
        ("roll_len", "<u4"),
    ]
)

FILE_MODE = 0o600  # samples can name hosts, services and models: private to opsplan's user
# A ZstdDecompressor must not be used by two threads at once; queries decode outside the store's
# lock, and compaction decodes in the collection thread, so each thread gets its own.
_local = threading.local()


def _decompress(data: bytes) -> bytes:
    dctx = getattr(_local, "dctx", None)
    if dctx is None:
        dctx = _local.dctx = zstandard.ZstdDecompressor()
    return bytes(dctx.decompress(data))


def decode_raw(data: bytes, version: int, times: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Times and values of a compressed raw chunk (as `Block.raw_compressed` returns it) of a
    block of format `version` whose shared cycle times are `times`."""
    try:
        if version == 1:
            return codec.decode_raw_v1(_decompress(data))
        return codec.decode_raw(_decompress(data), times)
    except zstandard.ZstdError as e:
        raise StoreError(f"cannot decode a raw chunk: {e}") from e


def decode_rollup(data: bytes) -> codec.Rollup:
    try:
        return codec.decode_rollup(_decompress(data))
    except zstandard.ZstdError as e:
        raise StoreError(f"cannot decode a rollup chunk: {e}") from e


def open_private(path: Path, mode: str) -> IO[Any]:
    """`open(path, mode)` for writing, the file created 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    return os.fdopen(fd, mode)


@dataclass
class Entry:
    """One series' contribution to a block being written (chunks already compressed)."""

    sid: int
    count: int
    rows: int
    tmin: int
    tmax: int
    last: float
    raw: bytes | None
    roll: bytes


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Block:
    def __init__(self, path: Path):
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDONLY)
            size = os.fstat(self._fd).st_size
            if size < len(MAGIC) + _FOOTER.size:
                raise StoreError(f"block {path.name} is truncated")
            foot = os.pread(self._fd, _FOOTER.size, size - _FOOTER.size)
            meta_off, meta_len, table_len, crc, magic = _FOOTER.unpack(foot)
            version = _MAGICS.get(os.pread(self._fd, len(MAGIC), 0))
            if magic != END_MAGIC or version is None:
                raise StoreError(f"block {path.name} is not a metrics block")
            tail = os.pread(self._fd, meta_len + table_len, meta_off)
        except OSError as e:
            raise StoreError(f"cannot read block {path.name}: {e.strerror}") from e
        if zlib.crc32(tail) != crc:
            raise StoreError(f"block {path.name} has a corrupt series table")
        meta = json.loads(tail[:meta_len])
        self.id: int = meta["id"]
        self.level: int = meta["level"]
        self.lo: int = meta["lo"]  # first sample time, ms
        self.hi: int = meta["hi"]  # last sample time + 1, ms
        self.has_raw: bool = meta["raw"]
        self.version = version
        # Where the shared cycle times are (format 2 blocks with raw samples), decoded on first use.
        at = meta.get("times")
        self._times_at = (int(at[0]), int(at[1])) if at else None
        self._times: np.ndarray | None = None
        self.size = size
        self.table = np.frombuffer(tail[meta_len:], dtype=TABLE_DTYPE)
        self._sids = self.table["sid"]

    @property
    def times(self) -> np.ndarray | None:
        """The block's cycle times (ms), or None when it has none. Two threads may both decode
        them the first time; they get equal arrays, so no lock is needed."""
        if self._times is None and self._times_at is not None:
            off, length = self._times_at
            times, _ = codec.decode_ints(memoryview(self._read(off, length)), 0)
            times.setflags(write=False)  # handed to every reader of this block
            self._times = times
        return self._times

    @property
    def times_bytes(self) -> int:
        return self._times_at[1] if self._times_at else 0

    def row(self, sid: int) -> np.void | None:
        i = int(np.searchsorted(self._sids, sid))
        if i < self._sids.size and self._sids[i] == sid:
            return self.table[i]
        return None

    def _read(self, off: int, length: int) -> bytes:
        try:
            data = os.pread(self._fd, length, off)
            return _decompress(data)
        except (OSError, zstandard.ZstdError) as e:
            raise StoreError(f"cannot read chunk of block {self.path.name}: {e}") from e

    def raw_compressed(self, row: np.void) -> bytes:
        return os.pread(self._fd, int(row["raw_len"]), int(row["raw_off"]))

    def roll_compressed(self, row: np.void) -> bytes:
        return os.pread(self._fd, int(row["roll_len"]), int(row["roll_off"]))

    def read_raw(self, row: np.void) -> tuple[np.ndarray, np.ndarray]:
        data = self._read(int(row["raw_off"]), int(row["raw_len"]))
        if self.version == 1:
            return codec.decode_raw_v1(data)
        return codec.decode_raw(data, self.times)

    def read_rollup(self, row: np.void) -> codec.Rollup:
        return codec.decode_rollup(self._read(int(row["roll_off"]), int(row["roll_len"])))

    @property
    def raw_samples(self) -> int:
        return int(self.table["count"].sum()) if self.has_raw else 0

    @property
    def raw_bytes(self) -> int:
        return int(self.table["raw_len"].sum()) + self.times_bytes

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def write_block(
    directory: Path,
    block_id: int,
    level: int,
    has_raw: bool,
    entries: list[Entry],
    *,
    sync: bool,
    times: bytes | None = None,
    version: int = FORMAT,
) -> Block:
    """Write entries (sorted by sid) as block `block_id`; returns it opened. `times` is the
    compressed frame of the cycle times that entries' raw chunks may share (format 2 only)."""
    final = directory / block_name(block_id)
    tmp = directory / f".tmp-{block_id}"
    table = np.zeros(len(entries), dtype=TABLE_DTYPE)
    magic = MAGIC_V1 if version == 1 else MAGIC
    parts: list[bytes] = [magic]
    off = len(magic)
    times_at = None
    if has_raw and times is not None and version != 1:
        times_at = [off, len(times)]
        parts.append(times)
        off += len(times)
    for i, e in enumerate(entries):
        raw = e.raw if has_raw and e.raw is not None else b""
        roll_off = off + len(raw)
        table[i] = (e.sid, e.count, e.rows, e.tmin, e.tmax, e.last, off, len(raw), roll_off, len(e.roll))
        parts.append(raw)
        parts.append(e.roll)
        off += len(raw) + len(e.roll)
    lo = min((e.tmin for e in entries), default=0)
    hi = max((e.tmax for e in entries), default=-1) + 1
    head = {"id": block_id, "level": level, "lo": lo, "hi": hi, "raw": has_raw}
    meta = json.dumps({**head, "times": times_at} if version != 1 else head).encode()
    tail = meta + table.tobytes()
    parts.append(tail)
    parts.append(_FOOTER.pack(off, len(meta), len(tail) - len(meta), zlib.crc32(tail), END_MAGIC))
    try:
        with open_private(tmp, "wb") as f:
            f.write(b"".join(parts))
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, final)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write block {final.name}: {e.strerror}") from e
    return Block(final)


def block_name(block_id: int) -> str:
    return f"{block_id:09d}.blk"


@dataclass
class Manifest:
    wal_upto: int = 0  # WAL segments up to this number are in blocks
    next_block: int = 1
    blocks: tuple[int, ...] = ()


def read_manifest(path: Path) -> Manifest:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return Manifest()
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read {path}: {e}") from e
    if data.get("version") != 1:
        raise StoreError(f"{path}: unsupported manifest version {data.get('version')}")
    return Manifest(int(data["wal_upto"]), int(data["next_block"]), tuple(int(b) for b in data["blocks"]))


def write_manifest(path: Path, m: Manifest, *, sync: bool) -> None:
    tmp = path.with_name(path.name + ".tmp")
    body = {"version": 1, "wal_upto": m.wal_upto, "next_block": m.next_block, "blocks": list(m.blocks)}
    try:
        with open_private(tmp, "w") as f:
            json.dump(body, f)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if sync:
            fsync_dir(path.parent)
    except OSError as e:
        raise StoreError(f"cannot write {path}: {e.strerror}") from e
