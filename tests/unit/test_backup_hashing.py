import hashlib
import io
import logging
from pathlib import Path

from opsplan.backup.hashing import ALGORITHM, CHUNK_BYTES, StreamHasher, hash_bytes, hash_file
from opsplan.backup.progress import progress


def test_hash_file_matches_blake2b_and_streaming_over_chunk_boundaries(tmp_path: Path) -> None:
    data = bytes(range(256)) * ((CHUNK_BYTES // 256) + 3)  # more than one chunk
    path = tmp_path / "shard.bin"
    path.write_bytes(data)
    seen: list[int] = []
    digest = hash_file(path, advance=seen.append)
    assert digest == hashlib.blake2b(data, digest_size=32).hexdigest()
    assert sum(seen) == len(data) and len(seen) == 2
    assert ALGORITHM == "blake2b-256"
    streamed = StreamHasher()
    for i in range(0, len(data), 1000):
        streamed.write(data[i : i + 1000])
    assert streamed.hexdigest() == digest and streamed.bytes == len(data)


def test_one_changed_byte_changes_the_hash(tmp_path: Path) -> None:
    assert hash_bytes(b"a" * 100) != hash_bytes(b"a" * 99 + b"b")


def test_progress_without_a_terminal_logs_plain_lines(caplog) -> None:
    now = [0.0]
    caplog.set_level(logging.INFO, logger="opsplan.backup.progress")
    with progress(3_000_000, "copy shard", stream=io.StringIO(), clock=lambda: now[0], log_every=5) as advance:
        for _ in range(3):
            now[0] += 3
            advance(1_000_000)
    lines = [r.getMessage() for r in caplog.records]
    # one line after 6 s (the 5 s mark passed), one at the end
    assert len(lines) == 2
    assert lines[0].startswith("copy shard: 2.0 MB of 3.0 MB (67%)")
    assert "(100%)" in lines[-1] and "0s left" in lines[-1]


def test_a_stored_hash_is_checked_with_its_own_algorithm(tmp_path: Path) -> None:
    import pytest

    from opsplan.backup.hashing import BLAKE3, new_hash, stream_algorithm
    from opsplan.errors import BackupError

    path = tmp_path / "stream.zst"
    path.write_bytes(b"backup bytes" * 1000)
    # Files recorded by earlier versions (BLAKE2b) still verify whatever new streams use.
    assert hash_file(path, algorithm=ALGORITHM) == hashlib.blake2b(path.read_bytes(), digest_size=32).hexdigest()
    assert hash_file(path, algorithm="sha256") == hashlib.sha256(path.read_bytes()).hexdigest()
    assert stream_algorithm() in (ALGORITHM, BLAKE3)
    if stream_algorithm() == BLAKE3:
        import blake3  # type: ignore[import-not-found,unused-ignore]

        assert hash_file(path, algorithm=BLAKE3) == blake3.blake3(path.read_bytes()).hexdigest()
    with pytest.raises(BackupError, match="unknown hash algorithm 'md5'"):
        new_hash("md5")
