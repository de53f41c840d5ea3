"""What the service needs from this host, derived from the plan: the paths it writes, the groups
it reads through, and where its secrets come from. `systemd.py` writes these as a unit.

Groups are read from the files themselves when they exist (the export runs on the server it is
for), else Debian's conventions: the MariaDB datadir belongs to group `mysql`, logs under /var/log
to `adm`. The lookup is one injected function, so tests describe a host without touching one.
"""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opsplan.errors import OpsplanError
from opsplan.plan.models import Plan

DATADIR_GROUP = "mysql"  # Debian's mariadb-server: /var/lib/mysql is mysql:mysql, its files 0660
LOG_GROUP = "adm"  # Debian: what other daemons log under /var/log is readable by group adm
LOG_ROOT = Path("/var/log")
HOME_ROOTS = (Path("/home"), Path("/root"), Path("/run/user"))
TMP_ROOTS = (Path("/tmp"), Path("/var/tmp"))


@dataclass(frozen=True)
class FileInfo:
    group: str  # the group's name, or its number when it has none
    others_read: bool  # anyone may read it (and enter it, for a directory)


Lookup = Callable[[Path], "FileInfo | None"]


def host_lookup(path: Path) -> FileInfo | None:
    """The group and mode of `path` on this host; None when it does not exist or cannot be seen."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    wanted = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(info.st_mode) else 0)
    return FileInfo(group, info.st_mode & wanted == wanted)


@dataclass(frozen=True)
class Need:
    """A path or group the service needs, and why (written as a comment beside it)."""

    value: str
    reasons: tuple[str, ...]


def _merge(items: list[tuple[str, str]]) -> list[Need]:
    order: dict[str, list[str]] = {}
    for value, reason in items:
        order.setdefault(value, [])
        if reason not in order[value]:
            order[value].append(reason)
    return [Need(value, tuple(reasons)) for value, reasons in order.items()]


def absolute(path: Path, key: str) -> Path:
    if not path.is_absolute():
        raise OpsplanError(f"{key}: {str(path)[:200]!r} is relative; a service runs in / and needs an absolute path")
    return Path(os.path.normpath(path))


def writable_paths(plan: Plan) -> list[Need]:
    """Every directory `opsplan serve` writes into; the rest of the file system stays read-only."""
    items = [
        (absolute(plan.data_dir, "data_dir"), "state database, metrics store, audit log, drill reports (data_dir)"),
        (absolute(plan.backup.directory, "backup.directory"),
         "database, binlog, model and configuration backups, drill and verify scratch (backup.directory)"),
    ]
    if plan.recovery.scratch_dir is not None:
        items.append((absolute(plan.recovery.scratch_dir, "recovery.scratch_dir"),
                      "restore and drill scratch (recovery.scratch_dir)"))
    for model in plan.backup.models.models:
        if model.test_slot is not None:
            link = absolute(model.test_slot.link, f"backup.models.{model.name}.test_slot.link")
            items.append((link.parent, f"the model drill of {model.name} switches its test slot link {link} "
                                       "here (the service user must own this directory)"))
    kept: list[tuple[str, str]] = []
    for path, reason in items:
        # A directory inside another listed one is writable already.
        if not any(path != other and path.is_relative_to(other) for other, _ in items):
            kept.append((str(path), reason))
    return _merge(kept)


def _reader_group(path: Path, lookup: Lookup, fallback: str | None) -> str | None:
    info = lookup(path)
    if info is None:
        return fallback
    if info.others_read or info.group in ("root", "0"):
        return None  # readable as it is; a root-owned private file is not opened by adding a group
    return info.group


def supplementary_groups(plan: Plan, lookup: Lookup = host_lookup) -> list[Need]:
    """The groups the service user needs to read what the plan reads, and no other."""
    items: list[tuple[str, str]] = []
    datadir = absolute(plan.database.datadir, "database.datadir")
    info = lookup(datadir)
    group = info.group if info is not None and info.group not in ("root", "0") else DATADIR_GROUP
    items.append((group, f"mariabackup reads the MariaDB datadir {datadir} (its directories g+rX: docs/install.md)"))
    for service in plan.services:
        if service.access_log is None:
            continue
        log_path = absolute(service.access_log.path, f"services.{service.name}.access_log.path")
        fallback = LOG_GROUP if log_path.is_relative_to(LOG_ROOT) else None
        found = _reader_group(log_path, lookup, fallback)
        if found:
            items.append((found, f"reads the access log {log_path} of service {service.name}"))
    for model in plan.backup.models.models:
        model_path = absolute(model.path, f"backup.models.{model.name}.path")
        found = _reader_group(model_path, lookup, None)
        if found:
            items.append((found, f"backs up model {model.name} from {model_path}"))
    return _merge(items)


def read_paths(plan: Plan) -> list[Path]:
    """Paths the service only reads: they decide whether /home may be hidden."""
    paths = [plan.database.datadir, *plan.backup.config.paths, *(m.path for m in plan.backup.models.models)]
    paths += [p for group in plan.allocation for p in group.paths]
    paths += [s.access_log.path for s in plan.services if s.access_log is not None]
    paths += [p for p in (plan.database.password_file, plan.web.api_token_file) if p is not None]
    paths += [c.url_file for c in plan.notifications.channels if c.url_file is not None]
    return [p for p in paths if p.is_absolute()]


def under(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


@dataclass(frozen=True)
class Secrets:
    files: list[str]  # "key: path", read from files the service user owns (0600)
    env_only: list[str]  # "key VAR": an environment variable the service will not have
    state_db_env: str | None  # the variable holding the state DB URL; it comes from an EnvironmentFile


def secrets(plan: Plan) -> Secrets:
    files: list[str] = []
    env_only: list[str] = []

    def one(key: str, env: str | None, file: Path | None) -> None:
        if file is not None:
            files.append(f"{key}_file {file}")
        elif env:
            env_only.append(f"{key}_env {env}")

    one("database.password", plan.database.password_env, plan.database.password_file)
    one("web.api_token", plan.web.api_token_env, plan.web.api_token_file)
    for channel in plan.notifications.channels:
        one(f"notifications.channels.{channel.name}.url", channel.url_env, channel.url_file)
    return Secrets(files, env_only, plan.state_db_url_env)
