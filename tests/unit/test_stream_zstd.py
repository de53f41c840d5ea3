"""The backup stream through a zstd process: what is stored decompresses to what came in, and the
catalog's figures (raw bytes, stored bytes, hash) describe the file on disk."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import zstandard

from opsplan.backup.hashing import hash_file
from opsplan.backup.stream_zstd import compress_with_zstd, zstd_binary
from opsplan.errors import BackupError

ZSTD = zstd_binary()
pytestmark = pytest.mark.skipif(ZSTD is None, reason="zstd (Debian package zstd) is not installed")


def _producer(data: bytes, tmp_path: Path) -> subprocess.Popen[bytes]:
    """A child writing `data` to a pipe, as mariabackup --stream does."""
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    return subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE)


def test_the_stored_file_decompresses_to_the_stream_and_matches_its_figures(tmp_path):
    data = os.urandom(3 * 1024 * 1024).hex().encode()  # 6 MiB of text: compresses, spans many pipe buffers
    producer = _producer(data, tmp_path)
    seen: list[int] = []
    stored = compress_with_zstd(producer.stdout, tmp_path / "backup.zst", level=3, zstd=str(ZSTD),
                                advance=seen.append)
    assert producer.wait() == 0
    dest = tmp_path / "backup.zst"
    assert stored.path == dest and not (tmp_path / "backup.zst.partial").exists()
    assert stored.bytes_read == len(data) == sum(seen)
    assert stored.bytes_stored == dest.stat().st_size < len(data)
    assert stored.hash == hash_file(dest, algorithm=stored.hash_algorithm)
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    with open(dest, "rb") as handle:
        assert zstandard.ZstdDecompressor().stream_reader(handle).read() == data


def test_a_failing_zstd_is_one_line_naming_it(tmp_path):
    fake = tmp_path / "zstd"
    fake.write_text("#!/bin/sh\necho 'zstd: error 11 : Allocation error' >&2\nexit 1\n")
    fake.chmod(0o755)
    producer = _producer(b"x" * (4 * 1024 * 1024), tmp_path)
    with pytest.raises(BackupError, match=r"^zstd exited with 1: zstd: error 11 : Allocation error$"):
        compress_with_zstd(producer.stdout, tmp_path / "backup.zst", level=3, zstd=str(fake))
    producer.kill()
    producer.wait()
    assert not (tmp_path / "backup.zst").exists()

