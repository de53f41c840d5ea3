"""Point-in-time recovery from the catalog: which backup chain and which archived binlogs, then the replay.

`restore_point(state_db, when)` picks the newest ok backup that finished before `when` and the
archived binlogs from that backup's binlog file/position up to `when`. `replay(point, ...)` pipes
`mariadb-binlog --start-position=POS --stop-datetime=...` into `mariadb --binary-mode` (two
processes joined in Python, no shell; the client's password in an in-memory option file,
`--defaults-extra-file=/dev/fd/N`, never on disk).

Time: binlog events carry whole UTC epoch seconds; `--stop-datetime` is read in the process's
local time, so mariadb-binlog runs with TZ=UTC and the stop time is written in UTC. That is exact
whatever the server's time_zone. The binlog keeps whole seconds, so the stop time is rounded up:
a transaction stamped in the same second as `when` is replayed, the next second's is not.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import zstandard
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan import format as fmt
from opsplan.backup.binlogs.archive import BinlogArchive, archived, binlog_root, sequence_of
from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import OK, DbBackup
from opsplan.backup.hashing import hash_file
from opsplan.backup.stream import chunks
from opsplan.errors import BackupError
from opsplan.fsutil import open_private, private_dir
from opsplan.mariadb.credentials import client_options
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

REPLAY_TIMEOUT = 6 * 3600.0


@dataclass(frozen=True)
class RestorePoint:
    when: datetime                 # aware
    chain: list[DbBackup]          # full first, then incrementals up to the base backup
    binlogs: list[BinlogArchive]   # in replay order
    start_file: str | None         # None: no replay needed (no binlogs)
    start_pos: int | None

    @property
    def backup(self) -> DbBackup:
        return self.chain[-1]


def parse_when(text: str, timezone: str) -> datetime:
    """'2026-11-20 14:00' (or ISO with seconds/offset) as an aware datetime; no offset → the plan's timezone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BackupError(f"cannot read the time {text!r}: use 'YYYY-MM-DD HH:MM[:SS]'") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))


def _show(ts: float, tz: datetime) -> str:
    return fmt.local_time(ts, tz.tzinfo or UTC, zone_name=True)


def _ok_backups(session: Session) -> list[DbBackup]:
    return [b for b in catalog.all_backups(session) if b.status == OK and b.finished_at is not None]


def binlogs_after(rows: list[BinlogArchive], backup: DbBackup) -> list[BinlogArchive]:
    """The archived files from `backup`'s binlog file on, consecutive, same generation (a reused
    name is told apart by its first event being before the backup ended); [] when its file is not archived."""
    if backup.binlog_file is None or backup.finished_at is None:
        return []
    starts = [r for r in rows if r.name == backup.binlog_file and r.first_event_at is not None
              and r.first_event_at <= backup.finished_at]
    if not starts:
        return []
    run = [max(starts, key=lambda r: (r.first_event_at or 0.0, r.id))]
    by_sequence: dict[int, list[BinlogArchive]] = {}
    for r in rows:
        by_sequence.setdefault(r.sequence, []).append(r)
    while True:
        last = run[-1]
        nxt = [r for r in by_sequence.get(last.sequence + 1, [])
               if (r.first_event_at or 0.0) >= (last.first_event_at or 0.0)]
        if not nxt:
            return run
        run.append(min(nxt, key=lambda r: (r.first_event_at or 0.0, r.id)))


def restore_point(state_db: StateDB, when: datetime) -> RestorePoint:
    """What to restore for `when` (aware): the chain and the binlogs, or a one-line BackupError."""
    if when.tzinfo is None:
        raise BackupError("the restore time needs a time zone (parse it with parse_when)")
    ts = when.timestamp()
    with state_db.session() as session:
        backups = _ok_backups(session)
        if not backups:
            raise BackupError("no successful database backup in the catalog: nothing to restore")
        before = [b for b in backups if (b.finished_at or 0.0) <= ts + 1e-3]
        if not before:
            oldest = min(backups, key=lambda b: b.finished_at or 0.0)
            raise BackupError(f"{_show(ts, when)} is before the oldest backup (#{oldest.id}, finished "
                              f"{_show(oldest.finished_at or 0.0, when)}): nothing restores that moment")
        base = max(before, key=lambda b: (b.finished_at or 0.0, b.id))
        chain = catalog.chain_of(session, base)
        rows = archived(session)
        run = binlogs_after(rows, base)
        newest = max((r.last_event_at or 0.0 for r in run), default=None)
        reach = max(newest or 0.0, base.finished_at or 0.0)
        if ts - reach > 1e-3:  # a datetime keeps microseconds only
            if base.binlog_file is None:
                why = f"backup #{base.id} recorded no binlog position (binary logging was off)"
            elif not run:
                why = f"{base.binlog_file} (backup #{base.id}'s binlog) is not archived yet"
            else:
                why = f"the newest archived event is at {_show(reach, when)}"
            raise BackupError(f"{_show(ts, when)} is after what is archived: {why}; "
                              f"run `opsplan backup archive-binlogs` or pick an earlier time")
        needed: list[BinlogArchive] = []
        stop = math.ceil(ts)
        for r in run:
            needed.append(r)
            if (r.last_event_at or 0.0) >= stop:
                break
        for r in needed:
            session.expunge(r)
        for b in chain:
            session.expunge(b)
    if not needed:
        return RestorePoint(when, chain, [], None, None)
    return RestorePoint(when, chain, needed, base.binlog_file, base.binlog_position)


def newest_restorable(session: Session) -> float | None:
    """The newest moment a restore can reach: the newest backup's end, or later through its archived binlogs."""
    backups = _ok_backups(session)
    if not backups:
        return None
    base = max(backups, key=lambda b: (b.finished_at or 0.0, b.id))
    run = binlogs_after(archived(session), base)
    return max([base.finished_at or 0.0, *(r.last_event_at or 0.0 for r in run)])


# --- replay -------------------------------------------------------------------------------------

def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/local/bin")
    if not found:
        raise BackupError(f"{name} is not installed (Debian package mariadb-client)")
    return found


def _unpack(root: Path, row: BinlogArchive, dest: Path) -> Path:
    """Check the stored file's hash, then decompress it to `dest/<name>` (0600)."""
    stored = root / (row.stored_name or "")
    if not stored.is_file():
        raise BackupError(f"archived binlog {row.name} is missing ({stored})")
    if hash_file(stored) != row.hash:
        raise BackupError(f"archived binlog {row.name} does not match its {row.hash_algorithm} hash")
    out = dest / row.name
    with open(stored, "rb") as handle, open_private(out) as sink:
        for chunk in chunks(zstandard.ZstdDecompressor().stream_reader(handle)):
            sink.write(chunk)
    return out


def replay_args(files: list[Path], start_pos: int | None, stop: datetime) -> list[str]:
    stop_utc = datetime.fromtimestamp(math.ceil(stop.timestamp()), UTC).strftime("%Y-%m-%d %H:%M:%S")
    args = [_tool("mariadb-binlog"), "--no-defaults"]  # local files: no server options apply
    if start_pos is not None:
        args.append(f"--start-position={start_pos}")  # mariadb-binlog applies it to the first file only
    return [*args, f"--stop-datetime={stop_utc}", *map(str, files)]


def replay(
    point: RestorePoint,
    stop_datetime: datetime | None = None,
    *,
    plan: Plan,
    user: str,
    password: str | None = None,
    socket: Path | str | None = None,
    host: str | None = None,
    port: int | None = None,
    timeout: float = REPLAY_TIMEOUT,
) -> int:
    """Replay `point`'s binlogs into a running server up to `stop_datetime` (default `point.when`).

    The server must already hold the restored backup. Needs a user that may run BINLOG statements
    (SUPER or BINLOG REPLAY). Returns the number of files replayed; raises a one-line BackupError.
    """
    if not point.binlogs:
        return 0
    stop = stop_datetime or point.when
    if stop.tzinfo is None:
        raise BackupError("the stop time needs a time zone")
    target = plan.database.model_copy(update={
        "user": user, "socket": Path(socket) if socket else None,
        "host": host or plan.database.host, "port": port or plan.database.port})
    scratch_parent = private_dir(Path(plan.backup.directory) / ".scratch")
    scratch = Path(tempfile.mkdtemp(prefix="binlog-replay-", dir=scratch_parent))
    try:
        files = [_unpack(binlog_root(plan), row, scratch) for row in point.binlogs]
        with client_options(target, password) as credentials:
            client = [_tool("mariadb"), credentials.defaults_option, "--binary-mode", "--batch"]
            _pipe(replay_args(files, point.start_pos, stop), client, scratch, password, timeout,
                  credentials.pass_fds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return len(files)


def _pipe(producer: list[str], consumer: list[str], scratch: Path, password: str | None, timeout: float,
          consumer_fds: tuple[int, ...] = ()) -> None:
    env = {**os.environ, "TZ": "UTC"}  # --stop-datetime is read in local time: make it UTC
    with tempfile.TemporaryFile(dir=scratch) as err1, tempfile.TemporaryFile(dir=scratch) as err2:
        first = subprocess.Popen(producer, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err1, env=env)
        assert first.stdout is not None
        try:
            second = subprocess.Popen(consumer, stdin=first.stdout, stdout=subprocess.DEVNULL, stderr=err2, env=env,
                                      pass_fds=consumer_fds)
        except OSError as exc:
            first.kill()
            first.wait()
            raise BackupError(f"cannot run {consumer[0]}: {exc.strerror or exc}") from None
        first.stdout.close()  # the consumer holds the pipe now: mariadb-binlog gets SIGPIPE if it dies
        try:
            rc2 = second.wait(timeout=timeout)
            rc1 = first.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for proc in (first, second):
                proc.kill()
                proc.wait()
            raise BackupError(f"the binlog replay did not finish within {timeout:.0f}s") from None
        if rc1 != 0:
            raise BackupError(f"mariadb-binlog exited with {rc1}: {_last_line(err1, password)}")
        if rc2 != 0:
            raise BackupError(f"mariadb exited with {rc2} while replaying binlogs: {_last_line(err2, password)}")


def _last_line(handle: IO[bytes], secret: str | None) -> str:
    handle.seek(0)
    lines = [line for line in handle.read().decode(errors="replace").splitlines() if line.strip()]
    text = " ".join(lines[-1].split())[:300] if lines else "no output"
    return text.replace(secret, "***") if secret else text


def archived_names(state_db: StateDB) -> list[str]:
    with state_db.session() as session:
        return [r.name for r in session.scalars(select(BinlogArchive).where(BinlogArchive.status == OK))]


__all__ = ["RestorePoint", "parse_when", "restore_point", "replay", "newest_restorable", "sequence_of"]
