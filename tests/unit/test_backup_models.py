"""Model versions with real files, a real SQLite catalog and real hard links."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from clocks import SteppingClock
from opsplan.backup.models.catalog import FAILED, RUNNING, UNCHANGED, FileBackupRun, start_run
from opsplan.backup.models.store import ModelStore
from opsplan.errors import BackupError
from opsplan.store.state import StateDB


@pytest.fixture()
def store(tmp_path: Path, engine_state_url: str):
    db = StateDB.open(engine_state_url)
    yield ModelStore(tmp_path / "backups", db, clock=SteppingClock())
    db.close()


def write_model(directory: Path, version: int) -> dict[str, bytes]:
    """A small Hugging Face style folder: a shared tokenizer, a shard that changes per version."""
    files = {
        "config.json": b'{"version": %d}' % version,
        "tokenizer.json": b"tokens " * 1000,  # the same in every version: stored once
        f"shards/model-{version:05d}.safetensors": os.urandom(200_000),
    }
    if directory.exists():
        for old in directory.rglob("*.safetensors"):
            old.unlink()
    for rel, data in files.items():
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_bytes(data)
    return files


def read_tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


# Every retention on SQLite; the catalog's SQL is the same for each, so one on the servers.
@pytest.mark.parametrize("engine_state_url, keep", [("sqlite", 3), ("sqlite", 4), ("sqlite", 5), ("sqlite", 6),
                                                    ("sqlite", 7), ("postgresql", 3), ("mariadb", 3)],
                         indirect=["engine_state_url"])
def test_seven_versions_leave_the_latest_n_each_restoring_byte_identical(store, tmp_path: Path, keep: int) -> None:
    source = tmp_path / "llm"
    contents = {}
    for v in range(1, 8):
        contents[f"v{v}"] = write_model(source, v)
        result = store.backup("llm", source, keep=keep, version=f"v{v}")
        assert result.status == "ok" and result.version == f"v{v}"
    kept = [row.version for row in store.versions("llm")]
    assert kept == [f"v{v}" for v in range(8 - keep, 8)]
    for version in kept:
        restored = store.restore_version("llm", version, tmp_path / f"restored-{version}")
        assert read_tree(restored) == contents[version]
        assert store.verify_version("llm", version) == []
    # the tokenizer is one object however many versions hold it; pruned versions' objects are gone
    objects = list((store.root / "objects").glob("??/*"))
    assert len(objects) == 1 + 2 * keep  # tokenizer + a config and a shard per kept version
    if keep < 7:
        with pytest.raises(BackupError, match="has no version v1"):
            store.restore_version("llm", "v1", tmp_path / "old")


def test_unchanged_directory_makes_no_new_version_and_a_change_does(store, tmp_path: Path) -> None:
    source = tmp_path / "llm"
    write_model(source, 1)
    first = store.backup("llm", source, keep=5)
    again = store.backup("llm", source, keep=5)
    assert first.status == "ok" and again.status == UNCHANGED and again.version == first.version
    assert again.copied_bytes == 0
    (source / "config.json").write_bytes(b'{"version": 2}')
    second = store.backup("llm", source, keep=5)
    assert second.status == "ok" and second.changed == ["config.json"]
    assert second.copied_bytes == len(b'{"version": 2}')  # only the changed file was copied
    assert [v.version for v in store.versions("llm")] == [first.version, second.version]


def test_stored_files_and_directories_are_private(store, tmp_path: Path) -> None:
    source = tmp_path / "llm"
    write_model(source, 1)
    store.backup("llm", source, keep=5, version="v1")
    for path in store.root.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


def test_deleting_a_version_never_breaks_another(store, tmp_path: Path) -> None:
    source = tmp_path / "llm"
    write_model(source, 1)
    store.backup("llm", source, keep=5, version="a")
    (source / "extra.bin").write_bytes(b"x" * 1000)
    store.backup("llm", source, keep=5, version="b")
    store.prune("llm", keep=1)
    restored = store.restore_version("llm", "b", tmp_path / "b")
    assert (restored / "tokenizer.json").read_bytes() == b"tokens " * 1000
    assert (restored / "extra.bin").read_bytes() == b"x" * 1000


def test_a_damaged_stored_file_is_refused_on_restore(store, tmp_path: Path) -> None:
    source = tmp_path / "llm"
    write_model(source, 1)
    store.backup("llm", source, keep=5, version="v1")
    stored = store.version_dir("llm", "v1") / "files" / "config.json"
    stored.write_bytes(b"tampered")
    assert store.verify_version("llm", "v1") == ["config.json: content does not match its hash"]
    with pytest.raises(BackupError, match="config.json does not match its hash"):
        store.restore_version("llm", "v1", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half restored
    assert not list(tmp_path.glob(".out.restoring-*"))


def test_a_killed_run_is_marked_failed_and_its_half_version_removed(store, tmp_path: Path) -> None:
    source = tmp_path / "llm"
    write_model(source, 1)
    with store.db.session() as session:  # what a SIGKILLed run leaves behind
        start_run(session, "model:llm", 1_800_000_000.0)
    half = store.model_dir("llm") / ".tmp-v9-424242" / "files"
    half.mkdir(parents=True)
    (half / "config.json").write_bytes(b"half")
    store.backup("llm", source, keep=5, version="v1")
    assert not half.parent.exists()
    with store.db.session() as session:
        statuses = [r.status for r in session.query(FileBackupRun).order_by(FileBackupRun.id)]
        reason = session.query(FileBackupRun).first().reason
    assert statuses == [FAILED, "ok"] and RUNNING not in statuses
    assert "interrupted" in reason


def test_missing_directory_is_one_line_and_recorded_failed(store, tmp_path: Path) -> None:
    with pytest.raises(BackupError) as caught:
        store.backup("llm", tmp_path / "nowhere", keep=5)
    assert "\n" not in str(caught.value) and "does not exist" in str(caught.value)
    with store.db.session() as session:
        assert [r.status for r in session.query(FileBackupRun)] == [FAILED]


def test_declared_version_that_exists_is_refused(store, tmp_path: Path) -> None:
    source = tmp_path / "llm"
    write_model(source, 1)
    store.backup("llm", source, keep=5, version="v1")
    with pytest.raises(BackupError, match="already exists"):
        store.backup("llm", source, keep=5, version="v1")
    with pytest.raises(BackupError, match="may hold only"):
        store.backup("llm", source, keep=5, version="../x")


def test_restore_refuses_an_existing_destination(store, tmp_path: Path) -> None:
    source = tmp_path / "llm"
    write_model(source, 1)
    store.backup("llm", source, keep=5, version="v1")
    (tmp_path / "busy").mkdir()
    with pytest.raises(BackupError, match="already exists"):
        store.restore_version("llm", "v1", tmp_path / "busy")
