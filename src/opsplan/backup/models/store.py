"""AI model versions (seed §4.1: on version change, keep the latest 5, full backup).

Layout under `<backup directory>/models/`:

    objects/ab/<hash>                 one file per distinct content (BLAKE2b), 0600
    <model>/versions/<version>/files/ each version in full: hard links to the objects
    <model>/versions/<version>/manifest.json
    <model>/scan-cache.json           path -> size, mtime_ns, hash of the last check

Every version directory is a complete copy (hard links), so it restores on its own and deleting
one never breaks another; an object whose link count falls to 1 is referenced by no version and
is collected. New content is copied once, hashed while it is copied, and re-read to verify
before it gets its name. A version is built under a temporary name and renamed into place, so a
killed run leaves no half version; its `running` row is marked failed at the next run.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import delete, select

from opsplan.backup.hashing import ALGORITHM, CHUNK_BYTES, StreamHasher, hash_bytes, hash_file
from opsplan.backup.models.catalog import (
    FAILED,
    KEPT,
    OK,
    PRUNED,
    UNCHANGED,
    FileBackupRun,
    ModelVersion,
    ModelVersionFile,
    mark_dead_runs,
    start_run,
    utc,
)
from opsplan.backup.progress import progress
from opsplan.errors import BackupError
from opsplan.fsutil import (
    ensure_space,
    fsync_dir,
    is_disk_full,
    open_private,
    private_dir,
    process_alive,
    remove_quietly,
    target_lock,
    write_private_text,
)
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

VERSION_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
COPY_ATTEMPTS = 3  # a file that changes under three copies in a row is being written: fail clearly
SPACE_MARGIN = 64 * 1024 * 1024


@dataclass
class FileEntry:
    path: str  # relative, '/'-separated
    size: int
    mtime_ns: int
    mode: int
    hash: str = ""


@dataclass
class ModelBackupResult:
    model: str
    status: str  # "ok" (new version stored) or "unchanged"
    version: str | None
    files: int
    size_bytes: int
    copied_bytes: int
    changed: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


def target_of(name: str) -> str:
    return f"model:{name}"


def content_hash(entries: list[FileEntry]) -> str:
    """Identity of a version's content: paths, sizes and hashes (not times, not modes)."""
    lines = "".join(f"{e.path}\0{e.size}\0{e.hash}\n" for e in sorted(entries, key=lambda e: e.path))
    return hash_bytes(lines.encode("utf-8"))


class ModelStore:
    def __init__(self, backup_dir: Path, db: StateDB, *, clock: Callable[[], float] = time.time,
                 progress_stream=None):
        self.root = Path(backup_dir) / "models"
        self.db = db
        self.clock = clock
        self.progress_stream = progress_stream

    # --- paths ------------------------------------------------------------------------------------

    def objects(self) -> Path:
        return self.root / "objects"

    def object_path(self, digest: str) -> Path:
        return self.objects() / digest[:2] / digest

    def model_dir(self, name: str) -> Path:
        return self.root / name

    def version_dir(self, name: str, version: str) -> Path:
        return self.model_dir(name) / "versions" / version

    # --- backup -----------------------------------------------------------------------------------

    def backup(self, name: str, source: Path, *, keep: int, version: str | None = None) -> ModelBackupResult:
        """Store `source` as a new version of `name` when its content changed (or `version` is
        declared), then keep the latest `keep` versions. Raises BackupError with one line."""
        if version is not None and not VERSION_NAME.match(version):
            raise BackupError(f"model {name}: version {version!r} may hold only letters, digits, '_', '.', '-'")
        private_dir(self.root)
        with target_lock(self.root, f"model-{name}"), self._objects_shared() as objects_lock:
            self._clean_leftovers(name)
            with self.db.session() as session:
                run_id = start_run(session, target_of(name), self.clock()).id
            try:
                result = self._backup_locked(name, Path(source), version, run_id)
            except BaseException as exc:
                reason = _reason(exc, name)
                with self.db.session() as session:
                    run = session.get(FileBackupRun, run_id)
                    assert run is not None
                    run.status, run.finished_at, run.reason = FAILED, utc(self.clock()), reason
                if isinstance(exc, Exception):
                    raise BackupError(reason) from None
                raise
            result.pruned = self._prune_locked(name, keep)
            self._collect_garbage_if_alone(objects_lock)
            return result

    def _backup_locked(self, name: str, source: Path, declared: str | None, run_id: int) -> ModelBackupResult:
        entries = scan(source)
        cache = self._read_scan_cache(name)
        to_copy: list[FileEntry] = []
        for entry in entries:
            cached = cache.get(entry.path)
            if cached and cached["size"] == entry.size and cached["mtime_ns"] == entry.mtime_ns \
                    and self.object_path(cached["hash"]).exists():
                entry.hash = cached["hash"]
            else:
                to_copy.append(entry)
        copied = 0
        if to_copy:
            needed = sum(e.size for e in to_copy)
            ensure_space(self.root, needed + SPACE_MARGIN)
            with progress(needed, f"model {name}", stream=self.progress_stream) as advance:
                for entry in to_copy:
                    copied += self._store_object(source, entry, advance)
        digest = content_hash(entries)
        latest = self.latest_version(name)
        total = sum(e.size for e in entries)
        changed = _changed_paths(entries, self._manifest_files(name, latest.version) if latest else {})
        self._write_scan_cache(name, entries)
        if declared is None and latest is not None and latest.content_hash == digest:
            with self.db.session() as session:
                run = session.get(FileBackupRun, run_id)
                assert run is not None
                run.status, run.finished_at, run.version = UNCHANGED, utc(self.clock()), latest.version
                run.size_bytes, run.copied_bytes = latest.size_bytes, copied
                # a check every few minutes would fill the catalog: keep only the newest unchanged row
                session.execute(delete(FileBackupRun).where(
                    FileBackupRun.target == target_of(name), FileBackupRun.status == UNCHANGED,
                    FileBackupRun.id != run_id))
            return ModelBackupResult(name, UNCHANGED, latest.version, len(entries), total, copied)
        version = declared or self._auto_version(digest)
        if self._kept_row(name, version) is not None:
            raise BackupError(f"model {name}: version {version} already exists")
        now = self.clock()
        self._build_version(name, version, entries, digest, now)
        with self.db.session() as session:
            row = ModelVersion(model=name, version=version, run_id=run_id, created_at=utc(now), files=len(entries),
                               size_bytes=total, content_hash=digest, status=KEPT)
            session.add(row)
            session.flush()
            session.add_all(ModelVersionFile(version_id=row.id, path=e.path, size_bytes=e.size, hash=e.hash,
                                             mode=e.mode) for e in entries)
            run = session.get(FileBackupRun, run_id)
            assert run is not None
            run.status, run.finished_at, run.version = OK, utc(self.clock()), version
            run.size_bytes, run.copied_bytes, run.changed_files = total, copied, len(changed)
        log.info("model %s: version %s stored (%d files, %d bytes new)", name, version, len(entries), copied)
        return ModelBackupResult(name, OK, version, len(entries), total, copied, changed)

    def _auto_version(self, digest: str) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + digest[:8]

    def _store_object(self, source: Path, entry: FileEntry, advance: Callable[[int], None]) -> int:
        """Copy one source file into the object store, hashing as it goes; verify the stored copy.
        Sets entry.hash; returns the bytes written (0 when the content was already stored)."""
        src = source / entry.path
        tmp_dir = private_dir(self.objects() / "tmp")
        for _attempt in range(COPY_ATTEMPTS):
            tmp = tmp_dir / f"{os.getpid()}-{os.urandom(4).hex()}"
            try:
                with open(src, "rb") as f, open_private(tmp) as out:
                    before = os.fstat(f.fileno())
                    hasher = _copy_hashed(f, out, advance)
                after = os.stat(src)
            except BaseException:
                remove_quietly(tmp)
                raise
            if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) \
                    or hasher.bytes != after.st_size:
                remove_quietly(tmp)
                log.warning("model file %s changed during the copy; copying it again", src)
                continue
            digest = hasher.hexdigest()
            if hash_file(tmp) != digest:  # what landed on disk is not what was read
                remove_quietly(tmp)
                raise BackupError(f"the copy of {src} does not match its source after writing (disk error?)")
            entry.hash, entry.size, entry.mtime_ns = digest, after.st_size, after.st_mtime_ns
            final = self.object_path(digest)
            if final.exists():
                remove_quietly(tmp)
                return 0
            private_dir(final.parent)
            os.replace(tmp, final)
            fsync_dir(final.parent)
            return hasher.bytes
        raise BackupError(f"{src} changed during each of {COPY_ATTEMPTS} copies; back it up when it is not "
                          "being written")

    def _build_version(self, name: str, version: str, entries: list[FileEntry], digest: str, now: float) -> None:
        versions = private_dir(self.model_dir(name) / "versions")
        tmp = self.model_dir(name) / f".tmp-{version}-{os.getpid()}"
        remove_quietly(tmp)
        private_dir(tmp)
        private_dir(tmp / "files")
        try:
            for entry in entries:
                dest = tmp / "files" / entry.path
                for parent in reversed(Path(entry.path).parents[:-1]):  # each level 0700, not just the leaf
                    private_dir(tmp / "files" / parent)
                os.link(self.object_path(entry.hash), dest)
            manifest = {
                "model": name, "version": version, "algorithm": ALGORITHM, "content_hash": digest,
                "created_at": datetime.fromtimestamp(now, UTC).isoformat(),
                "files": [asdict(e) for e in entries],
            }
            write_private_text(tmp / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False))
            with open(tmp / "manifest.json", "rb") as f:
                os.fsync(f.fileno())
            fsync_dir(tmp)
            os.rename(tmp, versions / version)
            fsync_dir(versions)
        except BaseException:
            remove_quietly(tmp)
            raise

    # --- reading the catalog ------------------------------------------------------------------------

    def latest_version(self, name: str) -> ModelVersion | None:
        kept = self.versions(name)
        return kept[-1] if kept else None

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        """Kept versions, oldest first (per model when `name` is None)."""
        with self.db.session() as session:
            query = select(ModelVersion).where(ModelVersion.status == KEPT)
            if name is not None:
                query = query.where(ModelVersion.model == name)
            return list(session.scalars(query.order_by(ModelVersion.model, ModelVersion.created_at,
                                                       ModelVersion.id)))

    def _kept_row(self, name: str, version: str) -> ModelVersion | None:
        with self.db.session() as session:
            return session.scalars(select(ModelVersion).where(
                ModelVersion.model == name, ModelVersion.version == version, ModelVersion.status == KEPT)).first()

    def version_files(self, name: str, version: str) -> list[ModelVersionFile]:
        row = self._kept_row(name, version)
        if row is None:
            known = ", ".join(v.version for v in self.versions(name)) or "none"
            raise BackupError(f"model {name} has no version {version} (kept: {known})")
        with self.db.session() as session:
            return list(session.scalars(select(ModelVersionFile).where(ModelVersionFile.version_id == row.id)
                                        .order_by(ModelVersionFile.path)))

    def _manifest_files(self, name: str, version: str) -> dict[str, str]:
        return {f.path: f.hash for f in self.version_files(name, version)}

    # --- restore and verify -------------------------------------------------------------------------

    def restore_version(self, name: str, version: str, dest: Path) -> Path:
        """Copy a kept version into `dest` (which must not exist), every file's hash checked against
        the catalog; built under a temporary name beside `dest` and renamed, so `dest` is complete
        or absent. For the rollback runbook: restore here, then swap the serving symlink."""
        files = self.version_files(name, version)
        dest = Path(dest)
        if dest.exists() or dest.is_symlink():
            raise BackupError(f"cannot restore into {dest}: it already exists")
        if not dest.parent.is_dir():
            raise BackupError(f"cannot restore into {dest}: {dest.parent} is not a directory")
        stored = self.version_dir(name, version) / "files"
        ensure_space(dest.parent, sum(f.size_bytes for f in files) + SPACE_MARGIN)
        tmp = dest.parent / f".{dest.name}.restoring-{os.getpid()}"
        remove_quietly(tmp)
        tmp.mkdir(mode=0o755)
        try:
            with progress(sum(f.size_bytes for f in files), f"restore {name} {version}",
                          stream=self.progress_stream) as advance:
                for f in files:
                    _copy_verified(stored / _safe_relative(f.path), tmp / _safe_relative(f.path), f, advance)
            fsync_dir(tmp)
            os.rename(tmp, dest)
            fsync_dir(dest.parent)
        except BaseException as exc:
            remove_quietly(tmp)
            if isinstance(exc, OSError):
                raise BackupError(f"restore of model {name} {version} into {dest} failed: "
                                  f"{exc.strerror or exc}") from None
            raise
        log.info("model %s: version %s restored into %s", name, version, dest)
        return dest

    def verify_version(self, name: str, version: str) -> list[str]:
        """Re-hash every stored file of a version; returns the problems found (empty when sound)."""
        stored = self.version_dir(name, version) / "files"
        problems = []
        for f in self.version_files(name, version):
            path = stored / _safe_relative(f.path)
            try:
                if hash_file(path) != f.hash:
                    problems.append(f"{f.path}: content does not match its hash")
            except OSError as exc:
                problems.append(f"{f.path}: {exc.strerror or exc}")
        return problems

    # --- retention ----------------------------------------------------------------------------------

    def prune(self, name: str, keep: int) -> list[str]:
        with target_lock(self.root, f"model-{name}"), self._objects_shared() as objects_lock:
            pruned = self._prune_locked(name, keep)
            self._collect_garbage_if_alone(objects_lock)
            return pruned

    def _prune_locked(self, name: str, keep: int) -> list[str]:
        kept = self.versions(name)
        doomed = kept[: max(len(kept) - keep, 0)]
        for row in doomed:
            # the catalog first: a crash after this leaves an orphan directory, cleaned next run
            with self.db.session() as session:
                live = session.get(ModelVersion, row.id)
                assert live is not None
                live.status, live.pruned_at = PRUNED, utc(self.clock())
                session.execute(delete(ModelVersionFile).where(ModelVersionFile.version_id == row.id))
            remove_quietly(self.version_dir(name, row.version))
            log.info("model %s: version %s pruned (keeping the latest %d)", name, row.version, keep)
        return [row.version for row in doomed]

    @contextmanager
    def _objects_shared(self) -> Iterator[int]:
        """Every run holds the object store shared; garbage collection needs it alone, because an
        object copied but not yet linked into its version has a link count of 1 too."""
        private_dir(self.objects())
        fd = os.open(self.objects() / ".gc.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield fd
        finally:
            os.close(fd)

    def _collect_garbage_if_alone(self, lock_fd: int) -> int:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                log.info("another model backup is running; unreferenced objects are collected next time")
                return 0
            raise
        removed = 0
        for obj in self.objects().glob("??/*"):
            if obj.is_file() and obj.stat().st_nlink == 1:
                obj.unlink()
                removed += 1
        return removed

    # --- crash leftovers ----------------------------------------------------------------------------

    def _clean_leftovers(self, name: str) -> None:
        """With the model's lock held: runs still `running` are dead, half-built versions and
        version directories the catalog does not keep are removed."""
        with self.db.session() as session:
            if mark_dead_runs(session, target_of(name), self.clock(), holding_lock=True):
                log.warning("model %s: a backup that was interrupted is now recorded as failed", name)
        for tmp in self.model_dir(name).glob(".tmp-*"):
            remove_quietly(tmp)
        kept = {v.version for v in self.versions(name)}
        versions = self.model_dir(name) / "versions"
        if versions.is_dir():
            for directory in versions.iterdir():
                if directory.name not in kept:
                    log.warning("model %s: removing %s, which the catalog does not hold", name, directory)
                    remove_quietly(directory)
        tmp_objects = self.objects() / "tmp"
        if tmp_objects.is_dir():
            for tmp in tmp_objects.iterdir():
                pid = tmp.name.split("-", 1)[0]
                if not (pid.isdigit() and process_alive(int(pid), None)):
                    remove_quietly(tmp)

    # --- scan cache ---------------------------------------------------------------------------------

    def _read_scan_cache(self, name: str) -> dict[str, dict]:
        try:
            data = json.loads((self.model_dir(name) / "scan-cache.json").read_text(encoding="utf-8"))
            return {e["path"]: e for e in data["files"]}
        except (OSError, ValueError, KeyError, TypeError):
            return {}  # no cache: every file is hashed (and copied unless its content is stored)

    def _write_scan_cache(self, name: str, entries: list[FileEntry]) -> None:
        directory = private_dir(self.model_dir(name))
        tmp = directory / f".scan-cache.{os.getpid()}"
        write_private_text(tmp, json.dumps({"algorithm": ALGORITHM, "files": [asdict(e) for e in entries]}))
        os.replace(tmp, directory / "scan-cache.json")

    def changed_since_last_check(self, name: str, source: Path) -> bool:
        """Cheap: sizes and times only, no hashing. True when a backup run would find work."""
        cache = self._read_scan_cache(name)
        try:
            entries = scan(Path(source))
        except BackupError:
            return True  # let the backup run and record the failure
        if len(entries) != len(cache):
            return True
        return any((c := cache.get(e.path)) is None or (c["size"], c["mtime_ns"]) != (e.size, e.mtime_ns)
                   for e in entries)


def scan(source: Path) -> list[FileEntry]:
    """Regular files under `source` (symlinks to files are followed, as a loader would read them)."""
    if not source.is_dir():
        raise BackupError(f"model directory {source} does not exist or is not a directory")
    entries = []
    for dirpath, dirnames, filenames in os.walk(source, onerror=_raise_walk_error):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            try:
                st = path.stat()
            except OSError as exc:
                raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
            if not path.is_file():
                continue  # sockets, fifos, dangling links: not part of a model
            rel = path.relative_to(source).as_posix()
            entries.append(FileEntry(rel, st.st_size, st.st_mtime_ns, st.st_mode & 0o7777))
    if not entries:
        raise BackupError(f"model directory {source} holds no files")
    return entries


def _raise_walk_error(exc: OSError) -> None:
    raise BackupError(f"cannot read {exc.filename}: {exc.strerror or exc}")


def _changed_paths(entries: list[FileEntry], previous: dict[str, str]) -> list[str]:
    now = {e.path: e.hash for e in entries}
    changed = [p for p, h in now.items() if previous.get(p) != h]
    return sorted(changed + [p for p in previous if p not in now])


def _safe_relative(path: str) -> Path:
    rel = Path(path)
    if rel.is_absolute() or ".." in rel.parts:
        raise BackupError(f"catalog path {path!r} is not inside the model directory")
    return rel


def _copy_hashed(source: IO[bytes], dest: IO[bytes], advance: Callable[[int], None]) -> StreamHasher:
    """The store's one copy loop: `source` into `dest` chunk by chunk, hashed as it passes, `dest`
    flushed and fsynced; the caller compares the hash and byte count with what it expects."""
    hasher = StreamHasher()
    while chunk := source.read(CHUNK_BYTES):
        hasher.update(chunk)
        dest.write(chunk)
        advance(len(chunk))
    dest.flush()
    os.fsync(dest.fileno())
    return hasher


def _copy_verified(src: Path, dest: Path, f: ModelVersionFile, advance: Callable[[int], None]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as i, open(dest, "xb") as o:
        hasher = _copy_hashed(i, o, advance)
    if hasher.hexdigest() != f.hash or hasher.bytes != f.size_bytes:
        raise BackupError(f"stored file {f.path} does not match its hash in the catalog; the backup is damaged")
    os.chmod(dest, f.mode & 0o777)


def _reason(exc: BaseException, name: str) -> str:
    if isinstance(exc, BackupError):
        return str(exc)
    if is_disk_full(exc):
        return f"model {name}: the backup directory is full"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"model {name}: {exc.strerror or exc}{where}"
    if isinstance(exc, KeyboardInterrupt):
        return f"model {name}: interrupted"
    return f"model {name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

