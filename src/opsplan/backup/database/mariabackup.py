"""A typed wrapper around mariabackup and mbstream (MariaDB 10.11): arguments, credentials, outputs.

Credentials go through an in-memory option file (`opsplan.mariadb.credentials`: a memfd the child
reads as `--defaults-extra-file=/dev/fd/N`, the first option), never on argv and never on disk, so
neither `ps` nor a file left by a killed run shows the password.
`--apply-log-only` is not used: 10.11 rejects it (incrementals are applied with plain --prepare).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from opsplan.errors import BackupError
from opsplan.fsutil import remove_quietly
from opsplan.mariadb.credentials import MemoryFile

# What mariabackup --backup needs on 10.11 (BACKUP STAGE needs RELOAD; BINLOG MONITOR reads the
# binlog position; LOCK TABLES and PROCESS for the lock phase and SHOW ENGINE INNODB STATUS).
REQUIRED_PRIVILEGES = ("RELOAD", "PROCESS", "LOCK TABLES", "BINLOG MONITOR")
# Older names the server may print in SHOW GRANTS for the same privilege.
# Archiving binlogs (`mariadb-binlog --read-from-remote-server`) reads them as a replica would.
BINLOG_ARCHIVE_PRIVILEGES = ("REPLICATION SLAVE",)
_ALIASES = {"BINLOG MONITOR": ("BINLOG MONITOR", "REPLICATION CLIENT"),
            "REPLICATION SLAVE": ("REPLICATION SLAVE", "REPLICATION REPLICA")}


@dataclass(frozen=True)
class Checkpoints:
    backup_type: str
    from_lsn: int
    to_lsn: int
    last_lsn: int | None


@dataclass(frozen=True)
class BinlogPosition:
    file: str | None
    position: int | None
    gtid: str | None


@dataclass(frozen=True)
class BackupInfo:
    tool_version: str | None
    server_version: str | None
    binlog: BinlogPosition


def parse_checkpoints(path: Path) -> Checkpoints:
    values = _key_values(path)
    try:
        return Checkpoints(
            backup_type=values.get("backup_type", ""),
            from_lsn=int(values["from_lsn"]),
            to_lsn=int(values["to_lsn"]),
            last_lsn=int(values["last_lsn"]) if "last_lsn" in values else None,
        )
    except (KeyError, ValueError):
        raise BackupError(f"{path}: not a valid xtrabackup_checkpoints file") from None


_BINLOG_POS = re.compile(r"filename '([^']*)', position '(\d+)'(?:, GTID of the last change '([^']*)')?")


def parse_binlog_pos(text: str) -> BinlogPosition:
    """`binlog_pos` of xtrabackup_info, or a line of xtrabackup_binlog_info (file<TAB>pos<TAB>gtid)."""
    match = _BINLOG_POS.search(text)
    if match:
        return BinlogPosition(match.group(1), int(match.group(2)), match.group(3) or None)
    parts = text.strip().split("\t")
    if len(parts) >= 2 and parts[1].isdigit():
        return BinlogPosition(parts[0], int(parts[1]), parts[2] if len(parts) > 2 and parts[2] else None)
    return BinlogPosition(None, None, None)


def parse_info(path: Path) -> BackupInfo:
    values = _key_values(path)
    return BackupInfo(
        tool_version=values.get("tool_version"),
        server_version=values.get("server_version"),
        binlog=parse_binlog_pos(values.get("binlog_pos", "")),
    )


def _key_values(path: Path) -> dict[str, str]:
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    values = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


# Versions before the in-memory option file left `opsplan-mb-*/my.cnf` (the password in clear)
# behind when killed: in the temp dir, the binlog work dir, the replay scratch dirs.
LEGACY_OPTION_DIR = "opsplan-mb-*"


def sweep_legacy_option_dirs(*parents: Path) -> list[Path]:
    """Remove our `opsplan-mb-*` option-file directories left in `parents` (the system temp dir when
    none is given) by killed runs of earlier versions; returns what was removed."""
    removed = []
    for parent in parents or (Path(tempfile.gettempdir()),):
        for holder in Path(parent).glob(LEGACY_OPTION_DIR):
            try:
                ours = holder.is_dir() and not holder.is_symlink() and holder.stat().st_uid == os.geteuid()
            except OSError:
                continue
            if ours and remove_quietly(holder):
                removed.append(holder)
    return removed


def first_error(stderr_text: str) -> str:
    """One line for the catalog from mariabackup's chatty stderr; no grant lines (they carry hashes)."""
    lines = [line for line in stderr_text.splitlines() if "IDENTIFIED BY" not in line.upper()]
    for line in lines:
        if re.search(r"\berror\b|failed|\[ERROR\]", line, re.IGNORECASE):
            return _strip_prefix(line)
    tail = [line for line in lines if line.strip()]
    return _strip_prefix(tail[-1]) if tail else "no output"


def _strip_prefix(line: str) -> str:
    # "[00] 2026-11-27 06:59:37 Error: ..." -> "Error: ..."
    return re.sub(r"^\[\d+\]\s+\d{4}-\d\d-\d\d\s+[\d:]+\s+", "", line.strip())[:300]


class Mariabackup:
    """mariabackup and mbstream by path; each method returns what the tool produced or raises BackupError."""

    def __init__(self, binary: str = "mariabackup", mbstream: str = "mbstream"):
        self.binary = binary
        self.mbstream = mbstream

    @staticmethod
    def _locate(name: str) -> str | None:
        return shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/usr/local/bin")

    def _resolve(self, name: str) -> str:
        found = self._locate(name)
        if not found:
            raise BackupError(f"{name} is not installed (Debian package mariadb-backup)")
        return found

    def binary_path(self) -> str:
        """The mariabackup path, or its bare name where it is not installed (for dry-run listings)."""
        return self._locate(self.binary) or self.binary

    def version(self) -> str:
        res = self._run([self._resolve(self.binary), "--version"], timeout=30)
        text = (res.stdout + res.stderr).strip().splitlines()
        return text[0] if text else "unknown"

    def backup_args(
        self,
        credentials: MemoryFile,
        *,
        target_dir: Path,
        extra_lsndir: Path,
        incremental_basedir: Path | None = None,
        parallel: int = 1,
    ) -> list[str]:
        args = [
            self._resolve(self.binary),
            credentials.defaults_option,  # must come first
            "--backup",
            "--stream=xbstream",
            f"--target-dir={target_dir}",
            f"--extra-lsndir={extra_lsndir}",
            f"--parallel={max(1, parallel)}",
        ]
        if incremental_basedir is not None:
            args.append(f"--incremental-basedir={incremental_basedir}")
        return args

    def start_backup(self, args: Sequence[str], stderr: IO[bytes],
                     credentials: MemoryFile) -> subprocess.Popen[bytes]:
        """Start a streaming backup: the xbstream comes on the returned process's stdout."""
        return subprocess.Popen(list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                                pass_fds=credentials.pass_fds)

    def unpack_args(self, directory: Path) -> list[str]:
        return [self._resolve(self.mbstream), "-x", "-C", str(directory)]

    def prepare_args(self, target_dir: Path, *, incremental_dir: Path | None = None,
                     use_memory: int | None = None) -> list[str]:
        memory = prepare_memory() if use_memory is None else use_memory
        args = [self._resolve(self.binary), "--prepare", f"--target-dir={target_dir}", f"--use-memory={memory}"]
        if incremental_dir is not None:
            args.append(f"--incremental-dir={incremental_dir}")
        return args

    def prepare(self, target_dir: Path, *, incremental_dir: Path | None = None, timeout: float = 3600) -> None:
        """`--prepare` a full copy; with `incremental_dir`, apply that incremental onto it."""
        args = self.prepare_args(target_dir, incremental_dir=incremental_dir)
        res = self._run(args, timeout=timeout)
        if res.returncode != 0:
            what = f"applying {incremental_dir.name}" if incremental_dir else "preparing the full"
            raise BackupError(f"mariabackup --prepare failed {what}: {first_error(res.stderr)}")

    def move_back_args(self, prepared: Path, datadir: Path, *, no_defaults: bool = False) -> list[str]:
        """`--move-back` of a prepared copy into `datadir`. `no_defaults` (first, as it must be) keeps the
        machine's my.cnf out, whose innodb paths may point at the running server's files."""
        # The path is looked up leniently so a dry run lists the command on a machine without it;
        # running it there fails with "cannot run mariabackup".
        options = ["--no-defaults"] if no_defaults else []
        return [self.binary_path(), *options, "--move-back", f"--target-dir={prepared}", f"--datadir={datadir}"]

    def move_back(self, prepared: Path, datadir: Path, *, no_defaults: bool = False,
                  timeout: float = 6 * 3600) -> None:
        """Move a prepared copy into `datadir`: the prepared tree is a scratch copy, so moving (a rename on
        one filesystem) instead of copying saves a full copy of the data from the time to service."""
        args = self.move_back_args(prepared, datadir, no_defaults=no_defaults)
        res = self._run(args, timeout=timeout, what="mariabackup --move-back")
        if res.returncode != 0:
            raise BackupError(f"mariabackup --move-back into {datadir} failed: {first_error(res.stderr)}")

    def _run(self, args: list[str], *, timeout: float, what: str | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BackupError(f"{what or Path(args[0]).name} did not finish within {timeout:.0f}s") from None
        except OSError as exc:
            raise BackupError(f"cannot run {args[0]}: {exc.strerror or exc}") from None


# --use-memory for --prepare: the buffer pool crash recovery runs in (mariabackup's default is 100 MiB,
# so applying a large redo log or incremental pages re-reads pages it just evicted). A quarter of the
# memory available now (the live server's buffer pool is already taken out of it), within bounds.
PREPARE_MEMORY_MIN = 128 * 1024 * 1024
PREPARE_MEMORY_MAX = 2 * 1024 * 1024 * 1024


def prepare_memory(meminfo: Path = Path("/proc/meminfo")) -> int:
    """Bytes for `--use-memory`: a quarter of MemAvailable, between 128 MiB and 2 GiB."""
    available = None
    try:
        for line in meminfo.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        available = None
    if available is None:
        return PREPARE_MEMORY_MIN
    return max(PREPARE_MEMORY_MIN, min(PREPARE_MEMORY_MAX, available // 4))


def missing_privileges(grants: Iterable[str], required: Iterable[str] = REQUIRED_PRIVILEGES) -> list[str]:
    """Which of the `required` privileges the SHOW GRANTS lines lack (on *.*)."""
    granted: set[str] = set()
    for line in grants:
        match = re.match(r"GRANT (.+?) ON \*\.\* TO", line, re.IGNORECASE)
        if not match:
            continue
        privileges = {p.strip().upper() for p in match.group(1).split(",")}
        if "ALL PRIVILEGES" in privileges:
            return []
        granted |= privileges
    return [p for p in required if not any(a in granted for a in _ALIASES.get(p, (p,)))]

