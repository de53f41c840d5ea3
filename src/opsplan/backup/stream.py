"""One pass over a backup stream: read, compress with zstd (worker threads), hash what is written, fsync, rename.

The temp name means a file under its final name is always complete: a crash or a full disk
leaves only a `.partial` file, which the engine removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import zstandard

from opsplan.backup.hashing import ALGORITHM, StreamHasher
from opsplan.fsutil import fsync_dir, open_private

READ_BYTES = 1024 * 1024
PIPE_BYTES = 1024 * 1024  # a bigger pipe buffer: fewer wake-ups between mariabackup and us
PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True)
class Stored:
    path: Path
    bytes_read: int
    bytes_stored: int
    hash_algorithm: str
    hash: str


class _HashingSink:
    """Where the compressor writes: the file, and the hasher on the same bytes."""

    def __init__(self, handle: IO[bytes], hasher: StreamHasher):
        self.handle = handle
        self.hasher = hasher

    def write(self, data: bytes) -> int:
        self.handle.write(data)
        self.hasher.update(data)
        return len(data)

    def flush(self) -> None:
        self.handle.flush()


def widen_pipe(handle: IO[bytes]) -> None:
    with contextlib.suppress(OSError, AttributeError, ValueError):  # only a speed-up
        fcntl.fcntl(handle.fileno(), 1031, PIPE_BYTES)  # F_SETPIPE_SZ (Linux)


def chunks(source: IO[bytes], size: int = READ_BYTES) -> Iterator[memoryview]:
    buffer = bytearray(size)
    view = memoryview(buffer)
    read_into = getattr(source, "readinto", None)
    while True:
        if read_into is not None:
            n = read_into(view)
        else:  # pragma: no cover - every stream here has readinto
            data = source.read(size)
            n = len(data)
            view[:n] = data
        if not n:
            return
        yield view[:n]


def compress_to_file(
    source: IO[bytes],
    dest: Path,
    *,
    level: int,
    threads: int = 0,
    advance: Callable[[int], object] | None = None,
) -> Stored:
    """Compress everything `source` yields into `dest` (0600), hashing the compressed bytes on the way."""
    dest = Path(dest)
    partial = dest.with_name(dest.name + PARTIAL_SUFFIX)
    hasher = StreamHasher()
    raw = 0
    # threads=-1 lets zstd use one worker per logical CPU.
    compressor = zstandard.ZstdCompressor(level=level, threads=threads if threads > 0 else -1)
    with open_private(partial) as handle:
        sink = _HashingSink(handle, hasher)
        with compressor.stream_writer(sink, closefd=False) as writer:  # type: ignore[arg-type]
            for chunk in chunks(source):
                writer.write(chunk)
                raw += len(chunk)
                if advance is not None:
                    advance(len(chunk))
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(partial, dest)
    fsync_dir(dest.parent)
    return Stored(dest, raw, hasher.bytes, ALGORITHM, hasher.hexdigest())


class _HashingReader:
    """What the decompressor reads from: the stored file, hashed on the way (one pass over it)."""

    def __init__(self, handle: IO[bytes], hasher: StreamHasher):
        self.handle = handle
        self.hasher = hasher

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.hasher.update(data)
        return data


def decompress_to(path: Path, sink: IO[bytes], *, hasher: StreamHasher | None = None) -> int:
    """Stream a stored .zst file into `sink` (an mbstream's stdin); returns raw bytes written.

    `hasher`: also hash the stored (compressed) bytes as they are read, to the file's last byte,
    so checking the catalog's hash costs no second pass over the file.
    """
    total = 0
    with open(path, "rb") as handle:
        source: IO[bytes] = _HashingReader(handle, hasher) if hasher is not None else handle  # type: ignore[assignment]
        reader = zstandard.ZstdDecompressor().stream_reader(source, read_size=READ_BYTES)
        for chunk in chunks(reader):
            sink.write(chunk)
            total += len(chunk)
        if hasher is not None:  # bytes after the last frame still belong to the stored file
            while source.read(READ_BYTES):
                pass
    return total
