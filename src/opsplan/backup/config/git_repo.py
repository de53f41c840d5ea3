"""Configuration files in Git (seed §4.1: on change, kept forever, Git version control).

The plan's `backup.config.paths` are copied into `<backup directory>/config/`, a Git repository
opsplan keeps: `files/<absolute path>` holds the content and `.opsplan-metadata` the mode, owner
and group of every file and directory (Git keeps none of that; etckeeper does the same). A commit
is made only when something changed, its message lists the changed files. History is never
rewritten: a deleted source file is a deletion in a new commit, the old content stays reachable.

Secrets never enter the repository: files matching the plan's `exclude` patterns or the built-in
ones (private keys by content, *.pem, *.key, names with password/secret, files with a
`password = value` line, the plan's own secret files) are skipped and listed by path, never read
into output. Git runs isolated from any user or system configuration, with a fixed identity, so
it works on a fresh machine and never picks up hooks or templates of the host.
"""

from __future__ import annotations

import fnmatch
import grp
import logging
import os
import pwd
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete

from opsplan.backup.hashing import hash_bytes
from opsplan.backup.models.catalog import FAILED, OK, UNCHANGED, FileBackupRun, mark_dead_runs, start_run, utc
from opsplan.errors import BackupError
from opsplan.fsutil import private_dir, remove_quietly, target_lock, write_private_text
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

TARGET = "config"
METADATA = ".opsplan-metadata"
BUILTIN_EXCLUDE = ("*.pem", "*.key", "*password*", "*secret*", "id_rsa*", "id_ed25519*", "id_ecdsa*")
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
PASSWORD_SETTING = re.compile(rb"(?im)^\s*[a-z_-]*password\s*[=:]\s*\S")
SNIFF_BYTES = 64 * 1024


@dataclass
class Excluded:
    path: str
    reason: str


@dataclass
class ConfigBackupResult:
    status: str  # "ok" (committed) or "unchanged"
    commit: str | None
    changed: list[str] = field(default_factory=list)  # "M etc/mysql/my.cnf", "A ...", "D ..."
    excluded: list[Excluded] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


@dataclass
class ConfigCommit:
    commit: str
    timestamp: float
    subject: str
    files: list[str]


class ConfigRepo:
    def __init__(self, backup_dir: Path, db: StateDB, *, clock: Callable[[], float] = time.time,
                 git: str = "git"):
        self.backup_dir = Path(backup_dir)
        self.root = self.backup_dir / "config"
        self.db = db
        self.clock = clock
        self.git_binary = git

    # --- backup -----------------------------------------------------------------------------------

    def backup(self, paths: Iterable[Path], exclude: Iterable[str] = (), secret_files: Iterable[Path] = ()
               ) -> ConfigBackupResult:
        """Copy `paths` into the repository and commit when anything changed."""
        private_dir(self.backup_dir)
        with target_lock(self.backup_dir, TARGET):
            with self.db.session() as session:
                if mark_dead_runs(session, TARGET, self.clock(), holding_lock=True):
                    log.warning("config: a backup that was interrupted is now recorded as failed")
                run_id = start_run(session, TARGET, self.clock()).id
            try:
                result = self._backup_locked([Path(p) for p in paths], list(exclude), set(map(Path, secret_files)))
            except Exception as exc:
                reason = _reason(exc)
                with self.db.session() as session:
                    run = session.get(FileBackupRun, run_id)
                    assert run is not None
                    run.status, run.finished_at, run.reason = FAILED, utc(self.clock()), reason
                raise BackupError(reason) from None
            with self.db.session() as session:
                run = session.get(FileBackupRun, run_id)
                assert run is not None
                run.status, run.finished_at, run.version = result.status, utc(self.clock()), result.commit
                run.changed_files = len(result.changed)
                run.size_bytes = _tree_size(self.root / "files")
                run.excluded = "\n".join(e.path for e in result.excluded) or None
                if result.status == UNCHANGED:  # the few-minute checks would fill the catalog
                    session.execute(delete(FileBackupRun).where(
                        FileBackupRun.target == TARGET, FileBackupRun.status == UNCHANGED, FileBackupRun.id != run_id))
            self._save_fingerprint(fingerprint(paths))
            return result

    def _backup_locked(self, paths: list[Path], exclude: list[str], secret_files: set[Path]) -> ConfigBackupResult:
        self._init_repo()
        tree = self.root / "files"
        private_dir(tree)
        result = ConfigBackupResult(status=UNCHANGED, commit=None)
        wanted: set[Path] = set()  # relative to tree, files and links
        keep_as_is: set[Path] = set()  # unreadable now: the last copy stays
        metadata: list[str] = []
        patterns = list(BUILTIN_EXCLUDE) + exclude
        for base in paths:
            if not base.is_absolute():
                raise BackupError(f"configuration path {base} must be absolute")
            if not base.exists() and not base.is_symlink():
                result.missing.append(str(base))
                continue
            for source in _walk(base):
                rel = Path(*source.parts[1:])
                try:
                    st = source.lstat()
                except OSError:
                    result.unreadable.append(str(source))
                    keep_as_is.add(rel)
                    continue
                if stat.S_ISDIR(st.st_mode):
                    metadata.append(_metadata_line(rel, st, "d"))
                    continue
                if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                    continue  # sockets, fifos, devices are not configuration
                why = _secret_reason(source, st, patterns, secret_files)
                if why:
                    result.excluded.append(Excluded(str(source), why))
                    continue
                try:
                    _copy_into(source, st, tree / rel)
                except OSError:
                    result.unreadable.append(str(source))
                    keep_as_is.add(rel)
                    continue
                wanted.add(rel)
                metadata.append(_metadata_line(rel, st, "l" if stat.S_ISLNK(st.st_mode) else "f"))
        self._remove_unwanted(tree, wanted, keep_as_is)
        write_private_text(self.root / METADATA, "".join(sorted(metadata)))
        self._git("add", "--all", "--", "files", METADATA)
        status = self._git("diff", "--cached", "--name-status", "--no-renames", "-z").split("\0")
        changes = [f"{status[i]} {status[i + 1].removeprefix('files/')}"
                   for i in range(0, len(status) - 1, 2) if status[i]]
        changes.sort(key=lambda line: line.endswith(METADATA))  # files first, modes and owners last
        if not changes:
            return result
        subject = f"opsplan config backup: {len(changes)} changed"
        message = subject + "\n\n" + "\n".join(changes) + "\n"
        self._git("commit", "--quiet", "--no-verify", "-m", message)
        result.status, result.commit, result.changed = OK, self._git("rev-parse", "HEAD").strip(), changes
        log.info("config: committed %s (%d changed)", result.commit[:12], len(changes))
        return result

    def _remove_unwanted(self, tree: Path, wanted: set[Path], keep: set[Path]) -> None:
        for dirpath, dirnames, filenames in os.walk(tree, topdown=False):
            for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
                rel = (Path(dirpath) / name).relative_to(tree)
                if rel not in wanted and rel not in keep:
                    (Path(dirpath) / name).unlink()
            if Path(dirpath) != tree and not any(Path(dirpath).iterdir()):
                Path(dirpath).rmdir()

    # --- history ------------------------------------------------------------------------------------

    def log(self, limit: int = 50) -> list[ConfigCommit]:
        if not self._has_commits():
            return []
        text = self._git("log", f"--max-count={limit}", "--no-renames", "--name-status",
                         "--format=%x1e%H%x1f%ct%x1f%s")
        commits = []
        for record in text.split("\x1e")[1:]:
            head, _, rest = record.partition("\n")
            sha, ts, subject = head.split("\x1f", 2)
            files = [" ".join(line.split("\t", 1)).replace(" files/", " ", 1) for line in rest.splitlines()
                     if line.strip() and not line.endswith(METADATA)]
            commits.append(ConfigCommit(sha, float(ts), subject, files))
        return commits

    def diff(self, rev: str | None = None) -> str:
        """Without REV: what the latest commit changed. With REV: everything changed from REV to the latest."""
        if not self._has_commits():
            return ""
        if rev is None:
            return self._git("show", "--no-color", "--format=%H %s%n", "HEAD")
        if rev.startswith("-") or not re.match(r"^[\w.~^/@{}-]+$", rev):
            raise BackupError(f"{rev!r} is not a revision")
        try:
            commit = self._git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}").strip()
        except BackupError:
            raise BackupError(f"no configuration commit {rev}; see `opsplan backup config log`") from None
        return self._git("diff", "--no-color", commit, "HEAD")

    # --- cheap change check -------------------------------------------------------------------------

    def changed_since_last_backup(self, paths: Iterable[Path]) -> bool:
        """Sizes, times, modes and owners only: cheap enough to run every few minutes."""
        try:
            saved = (self.root / ".git" / "opsplan-fingerprint").read_text(encoding="ascii").strip()
        except OSError:
            return True
        return saved != fingerprint(paths)

    def _save_fingerprint(self, value: str) -> None:
        if (self.root / ".git").is_dir():
            write_private_text(self.root / ".git" / "opsplan-fingerprint", value + "\n")

    # --- git ----------------------------------------------------------------------------------------

    def _init_repo(self) -> None:
        private_dir(self.root)
        if not (self.root / ".git").is_dir():
            self._git("init", "--quiet", "--initial-branch=main", "--template=")
            write_private_text(self.root / "README.txt",
                               "Configuration history kept by opsplan. files/ holds the copies, "
                               f"{METADATA} their mode and owner.\n")

    def _has_commits(self) -> bool:
        if not (self.root / ".git").is_dir():
            return False
        try:
            self._git("rev-parse", "--verify", "--quiet", "HEAD")
            return True
        except BackupError:
            return False

    def _git(self, *args: str) -> str:
        when = f"@{int(self.clock())} +0000"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root), "LC_ALL": "C",
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": "opsplan", "GIT_AUTHOR_EMAIL": "opsplan@localhost", "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": "opsplan", "GIT_COMMITTER_EMAIL": "opsplan@localhost",
            "GIT_COMMITTER_DATE": when,
        }
        command = [self.git_binary, "-C", str(self.root), "-c", "core.quotepath=false", "-c", "core.autocrlf=false",
                   "-c", "core.hooksPath=/dev/null", "-c", f"safe.directory={self.root}",
                   "-c", "commit.gpgsign=false", *args]
        try:
            done = subprocess.run(command, env=env, capture_output=True, check=False)
        except FileNotFoundError:
            raise BackupError("git is not installed; the configuration backup needs it") from None
        if done.returncode != 0:
            first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit {done.returncode}"])[0]
            raise BackupError(f"git {args[0]} failed in {self.root}: {first}")
        return done.stdout.decode("utf-8", "replace")


def fingerprint(paths: Iterable[Path]) -> str:
    parts = []
    for base in paths:
        base = Path(base)
        if not base.exists() and not base.is_symlink():
            parts.append(f"{base}\0missing")
            continue
        for path in _walk(base):
            try:
                st = path.lstat()
            except OSError:
                parts.append(f"{path}\0unreadable")
                continue
            parts.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_mode}\0"
                         f"{st.st_uid}\0{st.st_gid}")
    return hash_bytes("\n".join(parts).encode("utf-8", "surrogateescape"))


def _walk(base: Path) -> Iterable[Path]:
    """`base` and everything under it, without following directory links (sorted, stable)."""
    yield base
    if base.is_dir() and not base.is_symlink():
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                yield Path(dirpath) / name


def _secret_reason(path: Path, st: os.stat_result, patterns: list[str], secret_files: set[Path]) -> str | None:
    if path in secret_files:
        return "a secret file the plan names"
    name = path.name.lower()
    for pattern in patterns:
        # a pattern with a '/' is for the whole path (/etc/app/tokens/*), else for the file's name
        subject = str(path).lower() if "/" in pattern else name
        if fnmatch.fnmatch(subject, pattern.lower()):
            return f"name matches {pattern}"
    if stat.S_ISREG(st.st_mode):
        try:
            with open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError:
            return None  # the copy will fail and list it as unreadable
        if PRIVATE_KEY.search(head):
            return "holds a private key"
        if PASSWORD_SETTING.search(head):
            return "holds a password setting"
    return None


def _copy_into(source: Path, st: os.stat_result, dest: Path) -> None:
    parent = dest.parent
    if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
        parent.unlink()
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    tmp = dest.with_name(f".{dest.name}.opsplan-tmp")
    remove_quietly(tmp)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), tmp)
    else:
        with open(source, "rb") as i, open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as o:
            shutil.copyfileobj(i, o)
    os.replace(tmp, dest)


def _metadata_line(rel: Path, st: os.stat_result, kind: str) -> str:
    return f"{kind} {stat.S_IMODE(st.st_mode):04o} {_user(st.st_uid)}:{_group(st.st_gid)} " \
           f"{st.st_uid}:{st.st_gid} /{rel.as_posix()}\n"


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _tree_size(tree: Path) -> int:
    return sum(p.lstat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BackupError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"config: {exc.strerror or exc}{where}"
    return f"config: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


__all__ = ["ConfigBackupResult", "ConfigCommit", "ConfigRepo", "Excluded", "FAILED", "OK", "UNCHANGED",
           "fingerprint"]
