"""`restore-db`: the seed's four database recovery steps (§4.2) as a runbook.

1. stop the service: the API first, then the database, through the plan's service controllers;
2. restore the backup: check the chain (LSN links, stored hashes), unpack and prepare it on scratch
   copies, move the current datadir aside (kept), move the prepared copy back, fix ownership;
3. verify consistency: start the server on the restored datadir, CHECK TABLE every table, compare
   row counts and checksums with the backup's capture; for `time`, replay the archived binlogs;
4. restart the service and confirm it is healthy; only then prune old moved-aside datadirs.

Any failure undoes in reverse: the database stopped, the previous datadir renamed back, the
services started again. With `target_datadir` the restore goes into another directory and is
checked on a scratch server: the running database and its services are never touched.

Params (JSON, journaled): backup_id, time (UTC epoch seconds), time_text, target_datadir, target_port.
"""

from __future__ import annotations

import contextlib
import os
import socket as socketlib
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsplan.backup.database.engine import database_root
from opsplan.backup.database.mariabackup import Mariabackup, prepare_memory
from opsplan.backup.database.verify import prepare_chain
from opsplan.errors import BackupError, RunbookError, said
from opsplan.fsutil import private_dir, remove_quietly
from opsplan.i18n import t
from opsplan.mariadb.connection import address, connect_kwargs
from opsplan.plan.models import Plan, Recovery
from opsplan.plan.secrets import read_database_password
from opsplan.runbooks.model import Runbook, RunContext, Step, StepResult, WouldRefuse, catalogue_text
from opsplan.runbooks.restore import datadir as files
from opsplan.runbooks.restore.integrity import captures_of, check_integrity
from opsplan.runbooks.restore.locks import RestoreLocks
from opsplan.runbooks.restore.scratch import ScratchServer
from opsplan.runbooks.restore.service_control import (
    ServiceController,
    describe_probe,
    probe_for,
    sql_once,
    wait_down,
    wait_healthy,
)
from opsplan.store.state import StateDB

KIND = "restore-db"


class RestoreDb:
    """The steps of one restore, sharing the plan, the catalog and (target mode) a scratch server."""

    def __init__(self, plan: Plan, state_db: StateDB, params: dict[str, Any], *,
                 environ: Mapping[str, str], clock: Callable[[], float], tool: Mariabackup | None = None) -> None:
        self.plan, self.state_db, self.params = plan, state_db, params
        self.environ, self.clock = environ, clock
        self.db = plan.database
        self.tool = tool or Mariabackup()
        self.target = Path(params["target_datadir"]) if params.get("target_datadir") else None
        self.datadir = (self.target or Path(self.db.datadir)).absolute()
        self.database = ServiceController("database", plan.recovery.database_service)
        self.api = ServiceController("api", plan.recovery.api_service)
        self.scratch: ScratchServer | None = None
        self.locks = RestoreLocks(plan)
        if self.target is not None and self.datadir == Path(self.db.datadir).absolute():
            raise RunbookError(f"--target-datadir {self.target} is the plan's own datadir; "
                               "leave it out for an in-place restore")

    def locked(self, step: Callable[[RunContext], StepResult]) -> Callable[[RunContext], StepResult]:
        """`step` with the backup locks held (taken by the first step that runs, kept until cleanup)."""
        def run(ctx: RunContext) -> StepResult:
            self.locks.acquire(ctx.run_id)
            return step(ctx)
        return run

    def locked_undo(self, undo: Callable[[RunContext], StepResult]) -> Callable[[RunContext], StepResult]:
        """An undo takes the locks when it can (a resumed run's undo); a busy lock never stops an undo."""
        def run(ctx: RunContext) -> StepResult:
            with contextlib.suppress(RunbookError):
                self.locks.acquire(ctx.run_id)
            return undo(ctx)
        return run

    def _t(self, key: str, **values: object) -> str:
        return t(key, self.plan.language, **values)

    @property
    def in_place(self) -> bool:
        return self.target is None

    # --- shared pieces -----------------------------------------------------------------------------

    def _scratch_dir(self, run_id: int) -> Path:
        parent = self.plan.recovery.scratch_dir or Path(self.plan.backup.directory) / ".scratch"
        return Path(parent) / f"restore-{run_id}"

    def _chain(self, ctx: RunContext) -> list[Any]:
        """The chain chosen on the first run of step 2 (a resume restores the same one)."""
        if ctx.state.get("chain"):
            return files.chain_by_ids(self.state_db, list(ctx.state["chain"]))
        if self.params.get("time") is not None:
            return list(self._restore_point(float(self.params["time"])).chain)
        backup_id = self.params.get("backup_id")
        return files.choose_chain(self.state_db, int(backup_id) if backup_id is not None else None)

    def _restore_point(self, when: float) -> Any:
        """The binlog archive's answer for `when`: the chain before it and the binlogs up to it."""
        from opsplan.backup.binlogs.restore import restore_point

        try:
            return restore_point(self.state_db, datetime.fromtimestamp(when, UTC))
        except BackupError as exc:
            raise RunbookError(str(exc)) from None

    def _listening(self) -> str | None:
        """None when something accepts connections where the plan's database listens (no login)."""
        try:
            if self.db.socket:
                with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM) as s:
                    s.settimeout(2)
                    s.connect(str(self.db.socket))
            else:
                socketlib.create_connection((self.db.host, self.db.port), timeout=2).close()
        except OSError as exc:
            return exc.strerror or str(exc)
        return None

    def _db_wait(self) -> float:
        return self.plan.recovery.database_service.health.wait

    def _connect_params(self) -> dict[str, Any]:
        """The plan's database login for the integrity checks (password never logged)."""
        if self.scratch is not None:
            return self.scratch.connect_params()
        return connect_kwargs(self.db, read_database_password(self.db, self.environ), program_name="opsplan-restore")

    def _start_database(self) -> list[str]:
        lines = [self.database.start()]
        reason = wait_healthy(sql_once(self.db, self.environ), self._db_wait())
        if reason is not None:
            raise RunbookError(f"the database did not answer after start: {reason}")
        return lines

    def _stop_database(self) -> str:
        line = self.database.stop()
        if not wait_down(self._listening, self._db_wait()):
            raise RunbookError(f"the database still accepts connections at {address(self.db)} after stop")
        return line

    # --- 1. stop the service -----------------------------------------------------------------------

    def stop_services(self, ctx: RunContext) -> StepResult:
        if not self.in_place:
            return StepResult(True, self._t("restore.db.untouched", datadir=self.datadir))
        if not self.database.controllable:
            raise RunbookError(self._t("restore.db.no_control"))
        self._checked_chain(ctx)  # a wrong ID or a broken chain must not cost any downtime
        lines = []
        if self.api.controllable:
            lines.append(self.api.stop())
            ctx.state["api_stopped"] = True
        ctx.state["database_stopped"] = True  # before the call: a half-done stop is undone by a start
        lines.append(self._stop_database())
        return StepResult(True, "\n".join(lines))

    def start_services_again(self, ctx: RunContext) -> StepResult:
        lines = []
        if ctx.state.get("database_stopped") and self._listening() is not None:
            lines += self._start_database()
        if ctx.state.get("api_stopped"):
            lines.append(self.api.start())
        ctx.state["database_stopped"] = ctx.state["api_stopped"] = False
        return StepResult(True, "\n".join(lines) or "nothing was stopped")

    def describe_stop(self, ctx: RunContext) -> list[str]:
        if not self.in_place:
            return [f"nothing: restore into {self.datadir}; the running database is not touched"]
        lines = []
        if self.api.controllable:
            lines.append("api: " + " ".join(self.api.stop_args()))
        if not self.database.controllable:
            raise WouldRefuse(self._t("restore.db.no_control"))
        lines.append("database: " + " ".join(self.database.stop_args()))
        lines.append(f"wait until {self.db.socket or f'{self.db.host}:{self.db.port}'} accepts no connection")
        return lines

    # --- 2. restore the backup ---------------------------------------------------------------------

    def _checked_chain(self, ctx: RunContext) -> list[Any]:
        chain = self._chain(ctx)
        if not ctx.state.get("chain_checked"):
            files.check_chain(database_root(self.plan), chain)
        ctx.state.update(chain=[b.id for b in chain], tip=chain[-1].id, chain_checked=True)
        return chain

    def restore(self, ctx: RunContext) -> StepResult:
        chain = self._checked_chain(ctx)
        root = database_root(self.plan)
        timings: dict[str, float] = {}
        scratch = self._scratch_dir(ctx.run_id)
        remove_quietly(scratch)  # a resumed run starts its scratch over
        private_dir(scratch)
        ctx.state["scratch"] = str(scratch)
        started = time.monotonic()
        try:  # the streams' hashes are checked as they unpack, before anything is moved
            prepared = prepare_chain(root, chain, scratch, self.tool, check_hash=True)
        except BackupError as exc:
            remove_quietly(scratch)
            raise RunbookError(str(exc)) from None
        timings["prepare_seconds"] = time.monotonic() - started

        owner = self._make_room(ctx)
        started = time.monotonic()
        dest = self.datadir if self.in_place else self._partial(ctx)
        try:
            self.tool.move_back(prepared, dest)
        except BackupError as exc:
            raise RunbookError(str(exc)) from None
        files.chown_tree(dest, owner)
        if dest != self.datadir:
            if self.datadir.exists():
                self.datadir.rmdir()  # checked empty above
            dest.rename(self.datadir)
            ctx.state["created_target"] = True
        timings["copy_back_seconds"] = time.monotonic() - started
        remove_quietly(scratch)
        ctx.state["restored"] = True
        aside = ctx.state.get("aside")
        lines = [self._t("restore.db.restored", id=chain[-1].id, chain=", ".join(map(str, ctx.state["chain"])),
                         datadir=self.datadir)]
        if aside:
            lines.append(self._t("restore.db.kept", path=aside))
        return StepResult(True, "\n".join(lines),
                          {"backup_id": chain[-1].id, "chain": ctx.state["chain"], **timings})

    def _make_room(self, ctx: RunContext) -> files.Owner:
        """Free `self.datadir` for the restore; returns who must own the restored files."""
        if not self.in_place:
            # Restored beside the target, renamed in when whole: an interrupted run leaves only
            # its own partial directory, never a half-filled target.
            files.remove_tree(self._partial(ctx))
            if ctx.state.get("created_target"):
                files.remove_tree(self.datadir)
                ctx.state["created_target"] = False
            if self.datadir.exists() and any(self.datadir.iterdir()):
                raise said(RunbookError, "reason.target_not_empty", path=self.datadir)
            return files.Owner(os.geteuid(), os.getegid(), 0o750)
        # The name is fixed by the run id, so an interrupted run finds its own move even when the
        # state saved after the last finished step does not mention it yet.
        aside = files.aside_path(self.datadir, ctx.run_id)
        if aside.exists():
            files.remove_tree(self.datadir)  # interrupted after the move: the datadir is our half-restore
            owner = files.owner_of(aside)
            ctx.state.update(aside=str(aside), owner=owner.as_dict())
            return owner
        if not self.datadir.exists():
            owner = files.default_owner()
        else:
            owner = files.owner_of(self.datadir)
            ctx.state["aside"] = str(aside)
            self.datadir.rename(aside)
        ctx.state["owner"] = owner.as_dict()
        return owner

    def _partial(self, ctx: RunContext) -> Path:
        return self.datadir.with_name(f"{self.datadir.name}.opsplan-restoring-{ctx.run_id}")

    def undo_restore(self, ctx: RunContext) -> StepResult:
        if ctx.state.get("scratch"):
            remove_quietly(Path(ctx.state["scratch"]))
        if not self.in_place:
            files.remove_tree(self._partial(ctx))
            if ctx.state.get("created_target"):
                files.remove_tree(self.datadir)
                ctx.state["created_target"] = False
                return StepResult(True, f"removed the half-restored {self.datadir}")
            return StepResult(True, "nothing restored")
        aside = ctx.state.get("aside") or files.aside_path(self.datadir, ctx.run_id)
        if files.put_back(self.datadir, Path(aside)):
            ctx.state["aside"] = None
            return StepResult(True, self._t("restore.db.put_back", datadir=self.datadir))
        return StepResult(True, f"{self.datadir} was not moved; nothing to put back")

    def describe_restore(self, ctx: RunContext) -> list[str]:
        chain = self._chain(ctx)
        root = database_root(self.plan)
        scratch = self._scratch_dir(ctx.run_id)
        lines = [f"backup {chain[-1].id}: chain {' -> '.join(f'{b.id} ({b.kind})' for b in chain)}",
                 f"check LSN links and the stored files' hashes under {root} (each stream's while it unpacks)"]
        work = scratch / f"{chain[0].id}-full"
        for i, member in enumerate(chain):
            dest = work if i == 0 else scratch / f"{member.id}-incremental"
            source = root / (member.directory or "")
            lines.append(f"zstd -d < {source}/... | {' '.join(self.tool.unpack_args(dest))}")
            extra = [] if i == 0 else [f"--incremental-dir={dest}"]
            lines.append(" ".join(["mariabackup", "--prepare", f"--target-dir={work}",
                                   f"--use-memory={prepare_memory()}", *extra]))
        if self.in_place:
            lines.append(f"mv {self.datadir} {files.aside_path(self.datadir, ctx.run_id)}  (kept)")
        else:
            lines.append(f"{self.datadir} must be new or empty")
        lines.append(" ".join(self.tool.move_back_args(work, self.datadir)))
        owner = files.owner_of(self.datadir) if self.in_place and self.datadir.exists() else None
        lines.append(f"chown -R {owner.uid}:{owner.gid} {self.datadir}" if owner
                     else f"chown -R (this user) {self.datadir}")
        return lines

    # --- 3. verify consistency ---------------------------------------------------------------------

    def verify(self, ctx: RunContext) -> StepResult:
        lines = []
        started = time.monotonic()
        if self.in_place:
            ctx.state["database_started"] = True
            lines += self._start_database()
        else:
            lines.append(self._start_scratch(ctx))
        data: dict[str, Any] = {"start_seconds": time.monotonic() - started}
        tip = int(ctx.state["tip"])
        started = time.monotonic()
        report = check_integrity(self._connect_params(), captures_of(self.state_db, tip))
        data.update(integrity=report.as_dict(), verify_seconds=time.monotonic() - started)
        line = self._t("restore.db.integrity", id=tip, summary=report.summary())
        if not report.ok:
            return StepResult(False, line, data)
        lines.append(line)
        if self.params.get("time") is not None:
            line, data["replayed_binlogs"] = self._replay(ctx)
            lines.append(line)
            after = check_integrity(self._connect_params(), [])
            data["integrity_after_replay"] = after.as_dict()
            if not after.ok:
                return StepResult(False, f"after the binlog replay: {after.summary()}", data)
            lines.append(f"after the binlog replay: {after.summary()}")
        return StepResult(True, "\n".join(lines), data)

    def _scratch_base(self, ctx: RunContext) -> Path:
        if ctx.state.get("scratch_base") and Path(ctx.state["scratch_base"]).is_dir():
            return Path(ctx.state["scratch_base"])
        base = Path(tempfile.mkdtemp(prefix="opsplan-restore-"))  # short: a socket path has 108 bytes
        ctx.state["scratch_base"] = str(base)
        return base

    def _start_scratch(self, ctx: RunContext) -> str:
        """The checks and the binlog replay run socket-only with --skip-grant-tables, whatever the
        restored grants say (the restored root's password is not ours to know); `--target-port`
        starts the checked copy on its port with its own grants afterwards, in step 4."""
        self.scratch = ScratchServer(self.datadir, base_dir=self._scratch_base(ctx), grants="skip")
        self.scratch.start()
        return f"scratch server on {self.datadir} answers ({self.scratch.socket})"

    def _start_on_port(self, ctx: RunContext, port: int) -> str:
        if self.scratch is not None:
            self.scratch.stop()
        self.scratch = ScratchServer(self.datadir, base_dir=self._scratch_base(ctx), port=port, grants="keep")
        self.scratch.start()
        if not self.scratch.answers():
            raise RunbookError(f"the restored copy started on port {port} but does not answer")
        return f"the checked copy answers on 127.0.0.1:{port} with its own grants"

    def _replay(self, ctx: RunContext) -> tuple[str, int]:
        """Replay the archived binlogs from the backup's position up to `time` into the started server.
        In place this logs in as the plan's user, which then needs BINLOG REPLAY (or SUPER)."""
        from opsplan.backup.binlogs.restore import replay

        point = self._restore_point(float(self.params["time"]))
        if [b.id for b in point.chain] != ctx.state["chain"]:
            raise RunbookError("the binlog archive now names another chain for this time; start a new restore")
        login = self._connect_params()
        try:
            count = replay(point, plan=self.plan, user=login["user"], password=login.get("password") or None,
                           socket=login.get("unix_socket"), host=login.get("host"), port=login.get("port"))
        except BackupError as exc:
            raise RunbookError(f"binlog replay: {exc}") from None
        return self._t("restore.db.replayed", count=count, start=f"{point.start_file}:{point.start_pos}",
                       until=self.params.get("time_text") or self.params["time"]), count

    def undo_verify(self, ctx: RunContext) -> StepResult:
        if self.scratch is not None:
            self.scratch.stop()
            return StepResult(True, "scratch server stopped")
        if self.in_place and ctx.state.get("database_started"):
            ctx.state["database_started"] = False
            return StepResult(True, self._stop_database())
        return StepResult(True, "nothing to stop")

    def describe_verify(self, ctx: RunContext) -> list[str]:
        lines = []
        if self.in_place:
            if self.database.controllable:
                lines.append("database: " + " ".join(self.database.start_args()))
            lines.append(f"log in as {self.db.user} (up to {self._db_wait():.0f}s)")
        else:
            lines.append(f"scratch mariadbd --no-defaults --datadir={self.datadir} --skip-grant-tables "
                         "--skip-networking (socket only)")
        lines.append("CHECK TABLE on every table; row counts and CHECKSUM TABLE against the backup's capture")
        if self.params.get("time") is not None:
            lines.append(f"mariadb-binlog archived binlogs from the backup's position "
                         f"--stop-datetime={self.params.get('time_text') or self.params['time']} | mariadb")
        return lines

    # --- 4. restart the service --------------------------------------------------------------------

    def restart(self, ctx: RunContext) -> StepResult:
        if not self.in_place:
            port = self.params.get("target_port")
            lines = [self._start_on_port(ctx, int(port))] if port else []
            how = f"mariadbd --datadir={self.datadir}" + (f" --port={port}" if port else "")
            lines.append(self._t("restore.db.target_done", datadir=self.datadir, how=how))
            return StepResult(True, "\n".join(lines))
        lines = []
        if self._listening() is not None:
            lines += self._start_database()
        reason = wait_healthy(sql_once(self.db, self.environ), self._db_wait())
        if reason is not None:
            return StepResult(False, f"database unhealthy: {reason}")
        lines.append(self._t("restore.db.healthy", user=self.db.user))
        db_probe = probe_for(self.plan.recovery.database_service.health, self.db, self.environ)
        if db_probe is not None:
            reason = wait_healthy(db_probe, self._db_wait())
            if reason is not None:
                return StepResult(False, f"database health probe: {reason}")
        if self.api.controllable:
            ctx.state["api_started"] = True
            lines.append(self.api.start())
        api_health = self.plan.recovery.api_service.health
        api_probe = probe_for(api_health, self.db, self.environ)
        if api_probe is not None:
            reason = wait_healthy(api_probe, api_health.wait)
            if reason is not None:
                return StepResult(False, f"api health probe: {reason}")
            lines.append(f"api healthy ({describe_probe(api_health, self.db)})")
        ctx.state["api_stopped"] = False  # step 1's undo must not start it twice
        removed = files.prune_asides(self.datadir, self.plan.recovery.keep_previous_datadirs)
        if removed:
            lines.append(self._t("restore.db.pruned", paths=", ".join(map(str, removed))))
        if ctx.state.get("aside") and Path(ctx.state["aside"]).exists():
            lines.append(self._t("restore.db.kept", path=ctx.state["aside"]))
        return StepResult(True, "\n".join(lines))

    def undo_restart(self, ctx: RunContext) -> StepResult:
        if not self.in_place and self.scratch is not None:
            self.scratch.stop()
            return StepResult(True, "scratch server stopped")
        if ctx.state.get("api_started") and self.api.controllable:
            ctx.state["api_started"] = False
            ctx.state["api_stopped"] = True  # so step 1's undo starts it on the previous data
            return StepResult(True, self.api.stop())
        return StepResult(True, "nothing to stop")

    def describe_restart(self, ctx: RunContext) -> list[str]:
        if not self.in_place:
            port = self.params.get("target_port")
            if port:
                return [f"stop the socket-only scratch server; start mariadbd --no-defaults --datadir={self.datadir} "
                        f"--port={port} --bind-address=127.0.0.1 with the restored grants and wait until it answers",
                        f"{self.datadir} is left for the operator (that server stops at the end)"]
            return [f"nothing to restart: {self.datadir} is left for the operator (the scratch server stops)"]
        start = f" (else {' '.join(self.database.start_args())})" if self.database.controllable else ""
        lines = [f"database: running since step 3{start}",
                 describe_probe(self.plan.recovery.database_service.health, self.db)]
        if self.api.controllable:
            lines.append("api: " + " ".join(self.api.start_args()))
        lines.append(describe_probe(self.plan.recovery.api_service.health, self.db))
        lines.append(f"keep the newest {self.plan.recovery.keep_previous_datadirs} "
                     f"{self.datadir.name}{files.ASIDE_MARK}* copies, delete older ones")
        return lines

    # --- always ------------------------------------------------------------------------------------

    def cleanup(self, ctx: RunContext) -> None:
        try:
            if self.scratch is not None:
                self.scratch.stop()
                self.scratch = None
            for key in ("scratch", "scratch_base"):
                if ctx.state.get(key):
                    remove_quietly(Path(ctx.state[key]))
        finally:
            self.locks.release()


def build(plan: Plan, state_db: StateDB, params: dict[str, Any], *,
          environ: Mapping[str, str] = os.environ, clock: Callable[[], float] = time.time) -> Runbook:
    r = RestoreDb(plan, state_db, params, environ=environ, clock=clock)
    titles = plan.recovery.database.steps
    defaults = Recovery().database.steps  # the plan's own defaults, for a plan that lists fewer than four
    title = [titles[i] if i < len(titles) else defaults[i] for i in range(4)]
    steps = [
        Step("stop_service", title[0], r.locked(r.stop_services), undo=r.locked_undo(r.start_services_again),
             describe=r.describe_stop, destructive=r.in_place),
        Step("restore_backup", title[1], r.locked(r.restore), undo=r.locked_undo(r.undo_restore),
             describe=r.describe_restore, destructive=True),
        Step("verify_consistency", title[2], r.locked(r.verify), undo=r.locked_undo(r.undo_verify),
             describe=r.describe_verify),
        Step("restart_service", title[3], r.locked(r.restart), undo=r.locked_undo(r.undo_restart),
             describe=r.describe_restart),
    ]
    return Runbook(KIND, catalogue_text("restore.db.title"), steps, finally_=r.cleanup)
