"""`opsplan backup check`: can a database backup run here? Each check on its own, each one line."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from opsplan import format as fmt
from opsplan.backup.database.engine import database_root
from opsplan.backup.database.mariabackup import (
    BINLOG_ARCHIVE_PRIVILEGES,
    REQUIRED_PRIVILEGES,
    Mariabackup,
    missing_privileges,
)
from opsplan.backup.database.server import connect, server_version, show_grants
from opsplan.errors import OpsplanError
from opsplan.fsutil import directory_bytes, free_bytes
from opsplan.plan.models import Plan
from opsplan.plan.secrets import read_database_password


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def run_checks(plan: Plan, environ: Mapping[str, str] = os.environ,
               tool: Mariabackup | None = None) -> list[CheckResult]:
    tool = tool or Mariabackup()
    return [_binaries(tool), _privileges(plan, environ), _directory(plan), _datadir(plan.database.datadir)]


def _binaries(tool: Mariabackup) -> CheckResult:
    try:
        version = tool.version()
        tool.unpack_args(Path("."))  # resolves mbstream
    except OpsplanError as exc:
        return CheckResult("binaries", False, str(exc))
    return CheckResult("binaries", True, f"{version}; mbstream present")


def _privileges(plan: Plan, environ: Mapping[str, str]) -> CheckResult:
    try:
        conn = connect(plan.database, read_database_password(plan.database, environ))
    except OpsplanError as exc:
        return CheckResult("privileges", False, str(exc))
    required = REQUIRED_PRIVILEGES + (BINLOG_ARCHIVE_PRIVILEGES if plan.backup.database.binlog_archive else ())
    try:
        version = server_version(conn)
        missing = missing_privileges(show_grants(conn), required)
    finally:
        conn.close()
    if missing:
        return CheckResult("privileges", False,
                           f"{plan.database.user} on {version} lacks {', '.join(missing)} "
                           f"(mariabackup and binlog archiving need {', '.join(required)} ON *.*)")
    return CheckResult("privileges", True, f"{plan.database.user} on {version} has {', '.join(required)}")


def _directory(plan: Plan) -> CheckResult:
    root = database_root(plan)
    problems = []
    existing = root if root.exists() else None
    if existing is not None:
        mode = stat.S_IMODE(existing.stat().st_mode)
        if mode & 0o077:
            problems.append(f"{root} is mode {mode:04o}, should be 0700")
        if not os.access(existing, os.W_OK):
            problems.append(f"{root} is not writable")
    free = free_bytes(root)
    datadir = directory_bytes(plan.database.datadir)
    if datadir is not None and free < datadir:
        problems.append(f"{fmt.size(free, style='binary')} free, "
                        f"the datadir holds {fmt.size(datadir, style='binary')}")
    holds = "" if datadir is None else f", datadir {fmt.size(datadir, style='binary')}"
    detail = "; ".join(problems) or (f"{root}: {fmt.size(free, style='binary')} free" + holds
                                      + ("" if existing else " (created at the first backup, mode 0700)"))
    return CheckResult("directory", not problems, detail)


def _datadir(datadir: Path) -> CheckResult:
    """mariabackup copies every file of the datadir as this user (the service's own, in production).

    Debian's MariaDB makes each schema directory 0700: its group cannot enter it until MariaDB runs
    with UMASK_DIR=0750 and the existing directories get g+rX (docs/install.md)."""
    if not datadir.is_dir():
        return CheckResult("datadir", True, f"{datadir}: not on this host, not checked")
    unreadable: list[str] = []
    stack = [datadir]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue  # counted by the access check of its own entry, or the datadir itself below
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                wanted = os.R_OK | os.X_OK if is_dir else os.R_OK
                if not os.access(entry.path, wanted):
                    unreadable.append(entry.path)
                elif is_dir:
                    stack.append(Path(entry.path))
            except OSError:
                unreadable.append(entry.path)
    if not os.access(datadir, os.R_OK | os.X_OK):
        unreadable.insert(0, str(datadir))
    if unreadable:
        more = f" and {len(unreadable) - 1} more entries of {datadir}" if len(unreadable) > 1 else ""
        return CheckResult("datadir", False,
                           f"this user cannot read {sorted(unreadable)[0]}{more}: mariabackup would fail "
                           "(give its group g+rX, and UMASK_DIR=0750 to MariaDB; docs/install.md)")
    return CheckResult("datadir", True, f"{datadir}: every file readable by this user")
