"""The database restore drill (seed §2.2, quarterly): restore the newest chain into a scratch server and
measure RTO and RPO, never touching the running database.

Steps: choose the chain (and record the drill) → check the stored files are there → unpack every
member, hashing its stored bytes on the way (one pass; a mismatch fails the drill) →
prepare the full, then apply each incremental → `mariabackup --move-back` into a scratch datadir →
start a scratch mariadbd on it (own socket, free 127.0.0.1 port) → replay the archived binlogs when
the binlog archive is there → CHECK TABLE and the row counts/checksums captured from the tip's
prepared copy (`restore/capture.py`; when the tip has none yet, this drill records them instead).
Everything lives in `<backup.directory>/.drill-<run>` and goes when the drill ends (`keep` keeps it).

RTO is the time to a verified restore (the sum of the phases); time to service stops when the
server answers (after the replay). RPO is the age, when the drill started, of the newest point it
restored: the newest archived binlog event, or else the chain tip's end. Both are recorded only for
a drill that passed: a point that did not restore is not restorable.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from opsplan.backup.database import catalog
from opsplan.backup.database.engine import STREAM_FILE, database_root
from opsplan.backup.database.mariabackup import Mariabackup, prepare_memory
from opsplan.backup.database.verify import HashMismatch, rehash, unpack
from opsplan.errors import OpsplanError, RunbookError, said
from opsplan.fsutil import ensure_space, private_dir, remove_quietly
from opsplan.i18n import t
from opsplan.plan.models import Plan, Text
from opsplan.runbooks.drill import binlogs as drill_binlogs
from opsplan.runbooks.drill import results as drill_results
from opsplan.runbooks.drill.report import write_report
from opsplan.runbooks.model import Runbook, RunContext, Step, StepResult, catalogue_text
from opsplan.runbooks.restore.capture import record as record_capture
from opsplan.runbooks.restore.capture import scan_tables
from opsplan.runbooks.restore.integrity import TableCapture, captures_of, check_integrity
from opsplan.runbooks.restore.scratch import ScratchServer
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

KIND = "drill-db"
# Phases in the order they happen; time to service ends after "replay", time to verified after "verify".
SERVICE_PHASES = ("hashes", "unpack", "prepare", "copy_back", "start", "replay")
PHASES = (*SERVICE_PHASES, "verify")
_SOCKET_MAX = 100


class DatabaseDrill:
    """The drill's steps over one run's state; the live scratch server is held here, not in ctx.state."""

    def __init__(self, plan: Plan, state_db: StateDB, params: dict[str, Any], *,
                 environ: Mapping[str, str], clock: Callable[[], float],
                 timer: Callable[[], float] = time.monotonic, tool: Mariabackup | None = None) -> None:
        self.plan = plan
        self.state_db = state_db
        self.params = params
        self.environ = environ
        self.clock = clock
        self.timer = timer
        self.tool = tool or Mariabackup()
        self.root = database_root(plan)
        self.server: ScratchServer | None = None

    # --- paths -------------------------------------------------------------------------------------

    def work_dir(self, ctx: RunContext) -> Path:
        return Path(self.plan.backup.directory) / f".drill-{ctx.run_id}"

    def socket_path(self, ctx: RunContext) -> Path:
        """Inside the drill directory when the path fits a unix socket, else a private dir in /tmp."""
        inside = self.work_dir(ctx) / "server" / "mysqld.sock"
        if len(str(inside)) <= _SOCKET_MAX:
            return inside
        if "socket_dir" not in ctx.state:
            ctx.state["socket_dir"] = tempfile.mkdtemp(prefix="opsplan-drill-")
        return Path(ctx.state["socket_dir"]) / "mysqld.sock"

    def chain(self, ctx: RunContext) -> list[catalog.DbBackup]:
        with self.state_db.session() as session:
            return [catalog.get_backup(session, i) for i in ctx.state["backup_ids"]]

    # --- bookkeeping ---------------------------------------------------------------------------------

    def _phase(self, ctx: RunContext, name: str, seconds: float) -> None:
        ctx.state.setdefault("phases", {})[name] = round(seconds, 3)

    def _guard(self, name: str, body: Callable[[RunContext], StepResult]) -> Callable[[RunContext], StepResult]:
        """Run `body`; an error becomes a failed step and is kept for the result and the report."""
        def action(ctx: RunContext) -> StepResult:
            # The step that failed is the one the journal records: a stream's hash mismatch is found,
            # and reported, by the unpack step that reads it (its message says it is a hash mismatch).
            try:
                result = body(ctx)
            except OpsplanError as exc:
                result = StepResult(False, str(exc))
            except OSError as exc:
                result = StepResult(False, f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "))
            if not result.ok:
                ctx.state["failure"] = {"step": name, "reason": result.output}
            return result
        return action

    # --- steps ---------------------------------------------------------------------------------------

    def select_chain(self, ctx: RunContext) -> StepResult:
        now = self.clock()
        ctx.state.setdefault("started_at", now)
        if "drill_id" not in ctx.state:
            ctx.state["drill_id"] = drill_results.start(
                self.state_db, drill_results.DATABASE, started_at=now, run_id=ctx.run_id,
                rto_target=self.plan.recovery.rto, rpo_target=self.plan.recovery.rpo)
        with self.state_db.session() as session:
            backup_id = self.params.get("backup_id")
            tip = catalog.get_backup(session, int(backup_id)) if backup_id else catalog.last_chain_tip(session)
            if tip is None:
                raise said(RunbookError, "reason.no_backup_to_drill")
            chain = catalog.chain_of(session, tip)
            for parent, child in zip(chain, chain[1:], strict=False):
                catalog.check_chain_link(parent, child.from_lsn)
            if chain[0].kind != catalog.FULL:
                raise said(RunbookError, "reason.chain_without_full", id=tip.id)
            ctx.state["backup_ids"] = [b.id for b in chain]
            ctx.state["restorable_point"] = tip.finished_at
            raw = sum(b.bytes_read or 0 for b in chain) + (chain[0].bytes_read or 0)
        replay = drill_binlogs.plan_replay(self.state_db, tip)
        ctx.state["replay_until"] = replay.until if replay else None
        drill_results.update(self.state_db, ctx.state["drill_id"], backup_ids=ctx.state["backup_ids"])
        # Unpacked members plus the copied-back datadir live at once.
        ensure_space(Path(self.plan.backup.directory), int(raw * 1.1))
        return StepResult(True, t("drill.chain", self.plan.language, ids=", ".join(map(str, ctx.state["backup_ids"]))),
                          {"backup_ids": ctx.state["backup_ids"]})

    def check_hashes(self, ctx: RunContext) -> StepResult:
        """Every stored file there with its catalogued size; the streams' hashes are checked as they unpack."""
        started = self.timer()
        hashed = sized = 0
        for member in self.chain(ctx):
            rehash(self.root, member, skip=frozenset({STREAM_FILE}))
            streams = sum(1 for f in member.files if f.name == STREAM_FILE)
            sized += streams
            hashed += len(member.files) - streams
        self._phase(ctx, "hashes", self.timer() - started)
        # Count what was checked here: the streams' sizes only (their hashes are checked while they unpack).
        return StepResult(True, t("drill.hashes_ok", self.plan.language, n=len(ctx.state["backup_ids"]),
                                  hashed=hashed, sized=sized), {"files_hashed": hashed, "streams_sized": sized})

    def unpack_all(self, ctx: RunContext) -> StepResult:
        started = self.timer()
        area = self.work_dir(ctx) / "unpack"
        remove_quietly(area)  # a resumed drill starts this phase again from nothing
        private_dir(area)
        try:
            for member in self.chain(ctx):
                # One pass over the stored bytes: hashed as they stream into the decompressor.
                unpack(self.root, member, area / f"{member.id}-{member.kind}", self.tool, check_hash=True)
        except HashMismatch:
            remove_quietly(area)  # nothing unpacked from a file that fails its hash is kept
            raise
        self._phase(ctx, "unpack", self.timer() - started)
        return StepResult(True, str(area))

    def prepare(self, ctx: RunContext) -> StepResult:
        started = self.timer()
        chain = self.chain(ctx)
        area = self.work_dir(ctx) / "unpack"
        full = area / f"{chain[0].id}-{chain[0].kind}"
        self.tool.prepare(full)
        for member in chain[1:]:
            incremental = area / f"{member.id}-{member.kind}"
            self.tool.prepare(full, incremental_dir=incremental)
            remove_quietly(incremental)
        self._phase(ctx, "prepare", self.timer() - started)
        return StepResult(True, str(full))

    def _prepared_full(self, ctx: RunContext) -> Path:
        chain_ids = ctx.state.get("backup_ids") or ["<full>"]
        return self.work_dir(ctx) / "unpack" / f"{chain_ids[0]}-full"

    def copy_back_args(self, ctx: RunContext) -> list[str]:
        # --move-back, as the real restore does: the prepared tree is a scratch copy thrown away
        # afterwards, and on one filesystem moving is a rename, not a copy. --no-defaults: the
        # machine's my.cnf may point innodb dirs at the running server's.
        return self.tool.move_back_args(self._prepared_full(ctx), self.work_dir(ctx) / "data", no_defaults=True)

    def copy_back(self, ctx: RunContext) -> StepResult:
        started = self.timer()
        datadir = self.work_dir(ctx) / "data"
        remove_quietly(datadir)
        self.tool.move_back(self._prepared_full(ctx), datadir, no_defaults=True,
                            timeout=float(self.params.get("timeout", 6 * 3600)))
        os.chmod(datadir, 0o700)
        remove_quietly(self.work_dir(ctx) / "unpack")  # the prepared copy is no longer needed
        self._phase(ctx, "copy_back", self.timer() - started)
        return StepResult(True, str(datadir))

    def _scratch(self, ctx: RunContext) -> ScratchServer:
        if self.server is None:
            self.server = ScratchServer(self.work_dir(ctx) / "data", base_dir=self.work_dir(ctx) / "server",
                                        socket=self.socket_path(ctx), grants="temporary-user",
                                        buffer_pool=str(self.params.get("buffer_pool", "256M")))
        return self.server

    def _started(self, ctx: RunContext) -> ScratchServer:
        """The scratch server, started if it is not running (a resumed drill starts it again)."""
        return self._scratch(ctx).start(timeout=float(self.params.get("start_timeout", 600)))

    def start(self, ctx: RunContext) -> StepResult:
        started = self.timer()
        server = self._started(ctx)
        self._phase(ctx, "start", self.timer() - started)
        ctx.state["port"] = server.port
        return StepResult(True, t("drill.started", self.plan.language, port=server.port))

    def replay(self, ctx: RunContext) -> StepResult:
        if not ctx.state.get("replay_until"):
            return StepResult(True, t("drill.no_binlogs", self.plan.language))
        started = self.timer()
        server = self._started(ctx)
        tip = self.chain(ctx)[-1]
        until = float(ctx.state["replay_until"])
        files = drill_binlogs.replay_into(self.plan, self.state_db, tip,
                                          drill_binlogs.ReplayPlan(until, []), server)
        ctx.state["restorable_point"] = until
        ctx.state["binlogs_replayed"] = files
        self._phase(ctx, "replay", self.timer() - started)
        return StepResult(True, t("drill.replayed", self.plan.language, n=len(files)))

    def _expected(self, ctx: RunContext, server: ScratchServer) -> list[TableCapture]:
        """The tip's capture to compare with. When it has none yet (`serve` captures after each backup),
        this restore is the backup's prepared copy: its figures are recorded now and nothing is compared
        against them in this drill (they came from this very server)."""
        tip_id = ctx.state["backup_ids"][-1]
        with self.state_db.session() as session:
            captured = catalog.get_backup(session, tip_id).tables_captured_at is not None
        if captured:
            return captures_of(self.state_db, tip_id)
        settings = self.plan.backup.database
        if settings.table_checksums and not ctx.state.get("capture_recorded"):
            record_capture(self.state_db, tip_id,
                           scan_tables(server.connect_params(), settings.table_checksum_max_bytes), self.clock())
            ctx.state["capture_recorded"] = True
        return []

    def verify(self, ctx: RunContext) -> StepResult:
        started = self.timer()
        server = self._started(ctx)
        # After a binlog replay the data is newer than the capture: CHECK TABLE only. The capture is
        # compared in its own pass before the replay (see `verify_capture`).
        expected = [] if ctx.state.get("binlogs_replayed") else self._expected(ctx, server)
        report = check_integrity(server.connect_params(), expected)
        ctx.state["tables"] = [r.as_dict() for r in report.tables]
        ctx.state["captured_tables"] = len(expected)
        self._phase(ctx, "verify", self.timer() - started + float(ctx.state.get("capture_seconds", 0.0)))
        if not report.ok:
            return StepResult(False, report.summary())
        ctx.state["verified"] = True
        return StepResult(True, report.summary())

    def verify_capture(self, ctx: RunContext) -> StepResult:
        """Before a replay: the restored backup against its capture (skipped when there is nothing to replay)."""
        if not ctx.state.get("replay_until"):
            return StepResult(True, t("drill.no_binlogs", self.plan.language))
        started = self.timer()
        server = self._started(ctx)
        report = check_integrity(server.connect_params(), self._expected(ctx, server))
        ctx.state["capture_seconds"] = self.timer() - started
        ctx.state["capture_tables"] = [r.as_dict() for r in report.failures]
        return StepResult(report.ok, report.summary())

    # --- the end -------------------------------------------------------------------------------------

    def finish(self, ctx: RunContext) -> None:
        """Stop the server, record the result, write the report, remove the scratch directory."""
        if self.server is not None:
            self.server.stop()
        result = self.result(ctx)
        try:
            result["report"] = str(write_report(self.plan, result, self.clock()))
        except OSError as exc:
            log.error("drill report not written: %s", exc)
            result["report"] = None
        ctx.state["result"] = result
        if "drill_id" in ctx.state:
            drill_results.update(
                self.state_db, ctx.state["drill_id"], status=result["status"], finished_at=self.clock(),
                restorable_point=result["restorable_point"], rpo_seconds=result["rpo_seconds"],
                rto_seconds=result["rto_seconds"], time_to_service=result["time_to_service_seconds"],
                time_to_verified=result["time_to_verified_seconds"], phases=result["phases"],
                tables_checked=len(result["tables"]), tables_failed=sum(not x["ok"] for x in result["tables"]),
                failed_step=result["failed_step"], reason=result["reason"], report_path=result["report"])
        if self.params.get("keep"):
            log.info("drill %s: scratch directory kept at %s", ctx.run_id, self.work_dir(ctx))
        else:
            remove_quietly(self.work_dir(ctx))
        if ctx.state.get("socket_dir"):  # the server is stopped: its socket dir is of no use even when kept
            remove_quietly(Path(ctx.state["socket_dir"]))

    def result(self, ctx: RunContext) -> dict[str, Any]:
        phases = {name: ctx.state.get("phases", {}).get(name) for name in PHASES}
        failure = ctx.state.get("failure")
        passed = bool(ctx.state.get("verified")) and failure is None
        service = sum(v for k, v in phases.items() if k in SERVICE_PHASES and v is not None)
        verified = service + (phases["verify"] or 0.0)
        point = ctx.state.get("restorable_point")
        started = ctx.state.get("started_at", self.clock())
        rpo = max(0.0, started - point) if (passed and point is not None) else None
        rto = round(verified, 3) if passed else None
        targets = {"rto_seconds": self.plan.recovery.rto, "rpo_seconds": self.plan.recovery.rpo}
        return {
            "kind": KIND, "target": drill_results.DATABASE, "run_id": ctx.run_id,
            "status": drill_results.OK if passed else drill_results.FAILED,
            "failed_step": failure["step"] if failure else (None if passed else "interrupted"),
            "reason": failure["reason"] if failure else None,
            "started_at": started, "backup_ids": ctx.state.get("backup_ids", []),
            "binlogs_replayed": ctx.state.get("binlogs_replayed", []),
            "restorable_point": point, "rpo_seconds": None if rpo is None else round(rpo, 3),
            "rto_seconds": rto,
            "time_to_service_seconds": round(service, 3) if passed else None,
            "time_to_verified_seconds": rto,
            "phases": phases, "targets": targets,
            "rto_met": None if rto is None else rto <= targets["rto_seconds"],
            "rpo_met": None if rpo is None else rpo <= targets["rpo_seconds"],
            "tables": ctx.state.get("tables", []) or ctx.state.get("capture_tables", []),
            "scratch_dir": str(self.work_dir(ctx)) if self.params.get("keep") else None,
            "port": ctx.state.get("port"),
            # True: the tip had no capture yet; this drill recorded it and compared nothing against it.
            "capture_recorded": bool(ctx.state.get("capture_recorded")),
        }

    # --- dry run -------------------------------------------------------------------------------------

    def describe(self, what: str) -> Callable[[RunContext], list[str]]:
        def lines(ctx: RunContext) -> list[str]:
            work = self.work_dir(ctx)
            mb = self.tool.binary_path()
            return {
                "select": [f"newest ok chain from the catalog ({self.state_db.url}); scratch {work}"],
                "hashes": [f"every stored file under {self.root} present with its catalogued size",
                           "(the BLAKE2b of each stream is checked while it unpacks)"],
                "unpack": [f"zstd -d <member>/backup.xbstream.zst | mbstream -x -C {work / 'unpack'}/<id>-<kind>",
                           "hashing the stored file alongside; a mismatch fails the drill"],
                "prepare": [f"{mb} --prepare --target-dir={work / 'unpack'}/<full> --use-memory={prepare_memory()}",
                            f"{mb} --prepare --target-dir=<full> --use-memory={prepare_memory()} "
                            "--incremental-dir=<each incremental, in order>"],
                "copy_back": [" ".join(self.copy_back_args(ctx))],
                "start": [f"mariadbd --no-defaults --datadir={work / 'data'} --socket={self.socket_path(ctx)} "
                          "--bind-address=127.0.0.1 --port=<free> --skip-slave-start --event-scheduler=DISABLED"],
                "capture": ["CHECK TABLE + row counts/CHECKSUM TABLE against the tip's capture (before a replay)"],
                "replay": ["mariadb-binlog <archived binlogs from the tip's position> | mariadb (scratch server)"],
                "verify": ["CHECK TABLE on every table; row counts and CHECKSUM TABLE against the capture",
                           f"then stop the scratch server and remove {work}"],
            }[what]
        return lines


def build(plan: Plan, state_db: StateDB, params: dict[str, Any], *, environ: Mapping[str, str] = os.environ,
          clock: Callable[[], float] = time.time) -> Runbook:
    """The drill-db runbook. params: keep (bool), backup_id (int, default the newest chain tip)."""
    drill = DatabaseDrill(plan, state_db, params, environ=environ, clock=clock)

    def step(name: str, title: Text, body: Callable[[RunContext], StepResult], describe: str) -> Step:
        return Step(name=name, title=title, action=drill._guard(name, body), describe=drill.describe(describe))

    steps = [
        step("select_chain", catalogue_text("drill.step.select"), drill.select_chain, "select"),
        step("check_hashes", catalogue_text("drill.step.hashes"), drill.check_hashes, "hashes"),
        step("unpack", catalogue_text("drill.step.unpack"), drill.unpack_all, "unpack"),
        step("prepare", catalogue_text("drill.step.prepare"), drill.prepare, "prepare"),
        step("copy_back", catalogue_text("drill.step.copy_back"), drill.copy_back, "copy_back"),
        step("start_scratch", catalogue_text("drill.step.start"), drill.start, "start"),
        step("verify_capture", catalogue_text("drill.step.capture"), drill.verify_capture, "capture"),
        step("replay_binlogs", catalogue_text("drill.step.replay"), drill.replay, "replay"),
        step("verify", catalogue_text("drill.step.verify"), drill.verify, "verify"),
    ]
    return Runbook(kind=KIND, title=catalogue_text("drill.title"), steps=steps, finally_=drill.finish)


def run_drill(plan: Plan, state_db: StateDB, params: dict[str, Any] | None = None, *,
              environ: Mapping[str, str] = os.environ, clock: Callable[[], float] = time.time,
              console: Console | None = None, actor: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Run one drill through the runbook engine (journaled, audited); returns the result document.

    A dry run returns {"status": "dry_run", "run_id": ...}: nothing is restored or recorded.
    """
    from opsplan.runbooks.engine import RunbookEngine

    params = dict(params or {})
    runbook = build(plan, state_db, params, environ=environ, clock=clock)
    engine = RunbookEngine(plan, state_db, clock=clock, environ=environ, actor=actor,
                           console=console or Console(file=io.StringIO()))
    outcome = engine.run(runbook, params, dry_run=dry_run, yes=True)  # no step is destructive
    result = outcome.state.get("result")
    if not isinstance(result, dict):  # dry run, or the engine stopped before the drill's end
        return {"kind": KIND, "run_id": outcome.run_id, "status": outcome.status, "reason": outcome.reason}
    return result
