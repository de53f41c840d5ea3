"""What the model rollback and the model drill share: which stored version a directory holds, the
validation of a restored directory, the atomic link switch, the reload command and the health probe.

The serving link is swapped by creating a new symlink beside it and renaming it over the old one
(`os.replace`, atomic on POSIX): the server sees either the old target or the new one, never none.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.backup.hashing import hash_file
from opsplan.backup.models.store import ModelStore, scan
from opsplan.errors import BackupError, RunbookError
from opsplan.fsutil import fsync_dir
from opsplan.plan.models import ModelSource, Plan
from opsplan.store.state import Base, StateDB

OUTPUT_CHARS = 300


class ModelServing(Base):
    """Each time opsplan put a version into service: lets the next rollback tell which version a
    directory holds without hashing it."""

    __tablename__ = "model_serving"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(200))
    directory: Mapped[str] = mapped_column(String(4000))
    since: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


def model_source(plan: Plan, name: str) -> ModelSource:
    for m in plan.backup.models.models:
        if m.name == name:
            return m
    known = ", ".join(m.name for m in plan.backup.models.models) or "none"
    raise RunbookError(f"model {name!r} is not in backup.models.models (known: {known})")


def record_serving(db: StateDB, model: str, version: str, directory: Path, *, now: float,
                   run_id: int | None) -> None:
    with db.session() as session:
        session.add(ModelServing(model=model, version=version, directory=str(directory),
                                 since=datetime.fromtimestamp(now, UTC).replace(tzinfo=None), run_id=run_id))


def identify_version(store: ModelStore, db: StateDB, name: str, directory: Path) -> tuple[str | None, str]:
    """Which kept version `directory` holds, and how that was found: from opsplan's own record of
    the switch, else by content (paths and sizes, then hashes of the candidates that match)."""
    kept = [v.version for v in store.versions(name)]
    with db.session() as session:
        row = session.scalars(select(ModelServing).where(
            ModelServing.model == name, ModelServing.directory == str(directory))
            .order_by(ModelServing.id.desc())).first()
    if row is not None and row.version in kept:
        return row.version, "recorded when opsplan put it into service"
    try:
        entries = {e.path: e.size for e in scan(directory)}
    except BackupError:
        return None, f"{directory} cannot be read"
    for version in reversed(kept):
        files = store.version_files(name, version)
        if {f.path: f.size_bytes for f in files} != entries:
            continue
        if all(hash_file(directory / f.path) == f.hash for f in files):
            return version, "its files match the stored version's hashes"
    return None, f"{directory} matches no stored version"


def validate_directory(store: ModelStore, name: str, version: str, directory: Path,
                       source: ModelSource, environ: Mapping[str, str]) -> tuple[bool, str, dict]:
    """Every file of the version present with its hash, nothing extra, then the plan's validation
    command. Returns (ok, one or two lines, figures)."""
    files = store.version_files(name, version)
    problems = []
    for f in files:
        path = directory / f.path
        try:
            if hash_file(path) != f.hash:
                problems.append(f"{f.path}: content does not match the stored hash")
        except OSError as exc:
            problems.append(f"{f.path}: {exc.strerror or exc}")
    try:
        present = {e.path for e in scan(directory)}
    except BackupError as exc:
        return False, str(exc), {}
    extra = sorted(present - {f.path for f in files})
    problems += [f"{p}: not part of version {version}" for p in extra]
    data: dict = {"files_checked": len(files), "file_problems": len(problems)}
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return False, "; ".join(problems[:3]) + more, data
    line = f"{len(files)} files match the manifest of {version}"
    if not source.validate_command:
        return True, line, data
    args = [a.replace("{model_dir}", str(directory)) for a in source.validate_command]
    rc, last = run_command(args, source.validate_timeout, environ, {"OPSPLAN_MODEL_DIR": str(directory)})
    data["validate_exit"] = rc
    if rc != 0:
        return False, f"{line}; validation command {args[0]} failed (exit {rc}): {last}", data
    return True, f"{line}; validation command {args[0]}: {last or 'ok'}", data


def run_command(args: list[str], timeout: float, environ: Mapping[str, str],
                extra_env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """An argument list (no shell); returns its exit code and the last line it printed.
    A command that cannot start or runs past `timeout` is exit code -1 with the reason."""
    env = {**environ, **(extra_env or {})}
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL, check=False, errors="replace")
    except FileNotFoundError:
        return -1, f"{args[0]}: command not found"
    except subprocess.TimeoutExpired:
        return -1, f"{args[0]}: still running after {timeout:g}s (stopped)"
    except OSError as exc:
        return -1, f"{args[0]}: {exc.strerror or exc}"
    lines = [ln.strip() for ln in (done.stdout + "\n" + done.stderr).splitlines() if ln.strip()]
    return done.returncode, (lines[-1][:OUTPUT_CHARS] if lines else "")


def read_link(link: Path) -> str | None:
    """The link's target as written (None when there is no link). A real directory in its place
    cannot be swapped atomically: that is the operator's one-line error."""
    if link.is_symlink():
        return os.readlink(link)
    if link.exists():
        raise RunbookError(f"{link} is not a symbolic link; make the server load the model through a link "
                           "(e.g. ln -s /srv/ai/models/llm-v1 /srv/ai/models/current)")
    return None


def switch_link(link: Path, target: str | None) -> None:
    """Point `link` at `target` atomically (None removes the link)."""
    if target is None:
        if link.is_symlink():
            link.unlink()
            fsync_dir(link.parent)
        return
    read_link(link)  # refuses a real directory
    tmp = link.parent / f".{link.name}.opsplan-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)
    fsync_dir(link.parent)


def reload(command: list[str], timeout: float, environ: Mapping[str, str]) -> tuple[bool, str]:
    if not command:
        return True, "no reload command in the plan"
    rc, last = run_command(command, timeout, environ)
    if rc != 0:
        return False, f"reload command {command[0]} failed (exit {rc}): {last}"
    return True, f"reload command {command[0]}: {last or 'ok'}"


def probe_health(endpoint: str, path: str, wait: float, *, interval: float = 0.5) -> tuple[bool, str]:
    """GET endpoint+path until it answers 200, for at most `wait` seconds."""
    url = endpoint.rstrip("/") + path
    deadline = time.monotonic() + wait
    last = "no answer"
    with httpx.Client(trust_env=False) as client:
        while True:
            try:
                response = client.get(url, timeout=max(1.0, min(10.0, wait)))
                if response.status_code == 200:
                    return True, f"{url}: 200"
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if time.monotonic() >= deadline:
                return False, f"{url} not healthy within {wait:g}s (last: {last})"
            time.sleep(interval)


def put_in_place(link: Path, target: str | None, *, reload_command: list[str], reload_timeout: float,
                 endpoint: str | None, health_path: str, health_wait: float,
                 environ: Mapping[str, str]) -> tuple[bool, str]:
    """Switch the link (when it points elsewhere), reload, probe. Returns (ok, lines)."""
    lines = []
    if read_link(link) != target:
        switch_link(link, target)
        lines.append(f"{link} -> {target}" if target else f"{link} removed")
        ok, line = reload(reload_command, reload_timeout, environ)
        lines.append(line)
        if not ok:
            return False, "; ".join(lines)
    else:
        lines.append(f"{link} already -> {target}")
    if endpoint:
        ok, line = probe_health(endpoint, health_path, health_wait)
        lines.append(line)
        if not ok:
            return False, "; ".join(lines)
    return True, "; ".join(lines)
