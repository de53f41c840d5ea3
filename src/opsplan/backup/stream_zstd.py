"""A backup stream compressed by a `zstd` process, as the raw `mariabackup | zstd -T0` pipeline does.

Why a process and not the in-process compressor (`stream.compress_to_file`): measured on 2 cores
(docs/benchmarks.md), the in-process path read every raw byte into Python, fed it to the
compressor and hashed the output on the same thread, so any pause of one stalled the others.
Here the raw bytes go from mariabackup's pipe to zstd's with `splice(2)` (moved inside the kernel,
counted, never copied into Python), zstd compresses on its own worker threads exactly as the
anchor does, and a reader thread hashes (BLAKE3 where the package is installed, else BLAKE2b:
`hashing.stream_algorithm`) and writes only the compressed bytes. The file
is written under a `.partial` name, fsynced and renamed, as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from opsplan.backup.hashing import StreamHasher, stream_algorithm
from opsplan.backup.stream import PARTIAL_SUFFIX, PIPE_BYTES, READ_BYTES, Stored, chunks, widen_pipe
from opsplan.errors import BackupError
from opsplan.fsutil import fsync_dir, open_private

MAX_PLAIN_LEVEL = 19  # zstd wants --ultra above this
WRITEBACK_BYTES = 16 * 1024 * 1024
_SYNC_FILE_RANGE_WRITE = 2


def _start_writeback() -> Callable[[int, int, int], object] | None:
    """Linux sync_file_range(SYNC_FILE_RANGE_WRITE): start writing a range to disk without waiting.

    Why: the kernel otherwise keeps the whole compressed file dirty in memory (gigabytes fit under
    its thresholds) and the closing fsync then writes all of it while nothing else runs; started as
    the file grows, the writes overlap the compression and the fsync finds little left.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint)
    function.restype = ctypes.c_int
    return lambda fd, offset, length: function(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def zstd_binary() -> str | None:
    return shutil.which("zstd") or shutil.which("zstd", path="/usr/bin:/usr/local/bin")


def zstd_args(zstd: str, level: int, threads: int) -> list[str]:
    ultra = ["--ultra"] if level > MAX_PLAIN_LEVEL else []
    return [zstd, *ultra, f"-{level}", f"-T{max(0, threads)}", "-q", "-c"]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def pump(source: IO[bytes], sink: IO[bytes], advance: Callable[[int], object] | None = None) -> int:
    """Move everything from `source` to `sink` (pipes); returns the byte count. splice(2) where the
    kernel allows it (no copy through this process), else plain reads and writes."""
    src, dst = source.fileno(), sink.fileno()
    splice = getattr(os, "splice", None)
    total = 0
    while True:
        if splice is not None:
            try:
                n = splice(src, dst, PIPE_BYTES)
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.ENOSYS):
                    raise
                splice = None  # not a pipe on one side, or an old kernel
                continue
        else:
            data = os.read(src, READ_BYTES)
            n = len(data)
            if n:
                _write_all(dst, data)
        if not n:
            return total
        total += n
        if advance is not None:
            advance(n)


def compress_with_zstd(
    source: IO[bytes],
    dest: Path,
    *,
    level: int,
    threads: int = 0,
    zstd: str,
    advance: Callable[[int], object] | None = None,
) -> Stored:
    """Compress `source` (a pipe) through `zstd` into `dest` (0600), hashing the compressed bytes."""
    dest = Path(dest)
    partial = dest.with_name(dest.name + PARTIAL_SUFFIX)
    hasher = StreamHasher(stream_algorithm())
    failure: list[BaseException] = []
    with tempfile.TemporaryFile() as errors, open_private(partial) as handle:
        proc = subprocess.Popen(zstd_args(zstd, level, threads), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=errors)
        assert proc.stdin is not None and proc.stdout is not None
        widen_pipe(proc.stdin)
        widen_pipe(proc.stdout)
        output = proc.stdout

        writeback = _start_writeback()

        def drain() -> None:
            synced = 0
            try:
                for chunk in chunks(output):
                    handle.write(chunk)
                    hasher.update(chunk)
                    if writeback is not None and hasher.bytes - synced >= WRITEBACK_BYTES:
                        handle.flush()
                        writeback(handle.fileno(), synced, hasher.bytes - synced)
                        synced = hasher.bytes
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
                failure.append(exc)
                proc.kill()  # a full disk here must not leave zstd (and the pump) blocked forever

        reader = threading.Thread(target=drain, name="zstd-output", daemon=True)
        reader.start()
        try:
            try:
                raw = pump(source, proc.stdin, advance)
            except BrokenPipeError:
                raw = -1  # zstd is gone: its exit status or the reader's error says why
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            reader.join()
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            reader.join()
            raise
        if failure:
            raise failure[0]
        if rc != 0 or raw < 0:
            errors.seek(0)
            text = " ".join(errors.read().decode(errors="replace").split())[:300] or "no output"
            raise BackupError(f"zstd exited with {rc}: {text}")
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(partial, dest)
    fsync_dir(dest.parent)
    return Stored(dest, raw, hasher.bytes, hasher.algorithm, hasher.hexdigest())
