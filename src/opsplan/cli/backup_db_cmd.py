"""`opsplan backup db | list | prune | verify | check | capture`: the database (mariabackup) commands."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from opsplan import format as fmt
from opsplan.cli.common import err, fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import CLI_LANGUAGE, help_text
from opsplan.cli.tables import Cell, wrapping_table
from opsplan.i18n import t

_KIND_KEY = {"full": "backup.kind.full", "incremental": "backup.kind.incremental"}
_STATUS_KEY = {"ok": "backup.status.ok", "failed": "backup.status.failed", "running": "backup.status.running"}


def backup_db(ctx: typer.Context,
              full: bool = typer.Option(False, "--full", help=help_text("help.backup.full")),
              incremental: bool = typer.Option(False, "--incremental", help=help_text("help.backup.incremental")),
              as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Back up MariaDB with mariabackup (the plan decides full or incremental unless told)."""
    import os

    from opsplan import audit
    from opsplan.backup.database.engine import DatabaseBackupEngine

    if full and incremental:
        fail(t("cli.error.full_or_incremental", CLI_LANGUAGE), code=2)
    plan = plan_from(ctx)
    requested = "full" if full else "incremental" if incremental else "auto"
    with one_line_errors(), state_db(plan) as db:
        # In the audit log before the first step, as the catalog row: a failed start shows too.
        audit.record(db, os.environ.get("USER") or "operator", "backup.start", "backup database",
                     {"via": "cli", "requested": requested})
        row = DatabaseBackupEngine(plan, db).run(requested)
    if as_json:
        print_json(_row_json(row, plan.timezone))
        return
    lang = plan.language
    kind = t(_KIND_KEY[row.kind], lang) if row.kind in _KIND_KEY else row.kind
    # Korean: decimal sizes and 초/분 (KOREAN.md rules 8, 9); English as it has always read.
    size = fmt.size(row.bytes_stored or 0, style="binary") if lang == "en" else fmt.size(
        row.bytes_stored or 0, language=lang)
    took = fmt.seconds(row.duration or 0.0, precision=0) if lang == "en" else fmt.duration(
        row.duration or 0.0, precision=0, language=lang)
    out.print(t("backup.db.done", lang, id=row.id, kind=kind, size=size, seconds=took), markup=False)


def _row_json(row: Any, tz: str) -> dict[str, Any]:
    def local(ts: float | None) -> str | None:
        return fmt.local_time(ts, tz, zone_name=True, missing=None)

    return {
        "id": row.id, "kind": row.kind, "parent_id": row.parent_id, "full_id": row.full_id,
        "status": row.status, "reason": row.reason, "trigger": row.trigger,
        "started": local(row.started_at), "finished": local(row.finished_at),
        "started_at": row.started_at, "finished_at": row.finished_at, "duration_s": row.duration,
        "from_lsn": row.from_lsn, "to_lsn": row.to_lsn,
        "binlog": {"file": row.binlog_file, "position": row.binlog_position, "gtid": row.gtid},
        "bytes_read": row.bytes_read, "bytes_stored": row.bytes_stored, "directory": row.directory,
        "compression": row.compression, "compression_level": row.compression_level,
        "tool_version": row.tool_version, "server_version": row.server_version,
        "verify": {"status": row.verify_status, "deep": row.verify_deep, "reason": row.verify_reason,
                   "at": local(row.verified_at)},
        "files": [{"name": f.name, "role": f.role, "size": f.size, "hash": f"{f.hash_algorithm}:{f.hash}"}
                  for f in row.files],
        "pruned": local(row.pruned_at), "prune_reason": row.prune_reason,
        # When the per-table figures were read from the prepared copy (None: not yet; `serve` does it).
        "tables_captured": local(row.tables_captured_at), "tables": len(row.tables),
    }


def backup_list(ctx: typer.Context,
                as_json: bool = typer.Option(False, "--json", help=help_text("help.json")),
                include_pruned: bool = typer.Option(False, "--all", help=help_text("help.backup.list_all"))) -> None:
    """Show database backups as chains: each full with its incrementals below it."""
    from opsplan.backup.database import catalog
    from opsplan.backup.database.engine import DatabaseBackupEngine

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        DatabaseBackupEngine(plan, db).recover()  # a run killed earlier shows as failed, not running
        with db.session() as session:
            rows = catalog.all_backups(session, include_pruned=include_pruned)
    if as_json:
        print_json([_row_json(r, plan.timezone) for r in rows])
        return
    if not rows:
        out.print(t("backup.list.empty", plan.language))
        return
    out.print(backup_table(rows, plan.timezone, plan.language, time.time()))


def _kind(kind: str, lang: str) -> str:
    return t(_KIND_KEY[kind], lang) if kind in _KIND_KEY else kind


def _state(state: str | None, lang: str) -> str:
    return t(_STATUS_KEY[state], lang) if state in _STATUS_KEY else state or "-"


def backup_table(rows: list[Any], tz: str, lang: str, now: float) -> Table:
    """Chains as a table: a full, then its incrementals indented below it. Every cell wraps at any
    terminal width, so the failure reason is shown whole (it is the last column, free to wrap)."""
    depth: dict[int, int] = {}
    cells: list[list[Cell]] = []
    for row in rows:
        depth[row.id] = depth[row.parent_id] + 1 if row.parent_id in depth else 0
        verify = _state(row.verify_status, lang)
        if row.verify_status and row.verify_deep:
            verify += t("backup.list.deep", lang)
        style = {"ok": "green", "failed": "red", "running": "yellow"}.get(row.status, "")
        status = Text(_state(row.status, lang), style=style)
        if row.pruned_at:
            status += " " + t("backup.list.pruned", lang)
        cells.append(["  " * depth[row.id] + ("└ " if depth[row.id] else "") + f"#{row.id}",
                      _kind(row.kind, lang), status,
                      fmt.local_time(row.started_at, tz, zone_name=True),
                      fmt.age(now - (row.finished_at or row.started_at), language=lang),
                      fmt.size_short(row.bytes_stored or 0),
                      verify, row.reason or ""])
    return wrapping_table(t("backup.list.columns", lang).split("|"), cells, whole=(0, 3), right=(4, 5),
                          title=t("backup.list.title", lang))


def backup_prune(ctx: typer.Context,
                 dry_run: bool = typer.Option(False, "--dry-run", help=help_text("help.backup.prune_dry_run")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Apply the retention policy (the recovery window) to database backups."""
    from opsplan.backup.database.engine import DatabaseBackupEngine
    from opsplan.backup.database.retention import prune

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        if not dry_run:
            DatabaseBackupEngine(plan, db).recover()
        removals = prune(plan, db, dry_run=dry_run)
    if as_json:
        print_json([{"id": r.backup_id, "reason": r.reason(plan.language), "removed": not dry_run} for r in removals])
        return
    if not removals:
        out.print(t("backup.prune.none", plan.language))
    verb = t("backup.prune.would" if dry_run else "backup.prune.removed", plan.language)
    for removal in removals:
        out.print(f"{verb} #{removal.backup_id}: {removal.reason(plan.language)}", markup=False)


def backup_verify(ctx: typer.Context,
                  backup_id: int = typer.Argument(None, help=help_text("help.backup.verify_id")),
                  all_: bool = typer.Option(False, "--all", help=help_text("help.backup.verify_all")),
                  deep: bool = typer.Option(False, "--deep", help=help_text("help.backup.verify_deep")),
                  as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Re-hash stored files against the catalog; --deep also runs mariabackup --prepare on copies."""
    from opsplan.backup.database.engine import DatabaseBackupEngine
    from opsplan.backup.database.verify import verify_all, verify_backup

    if (backup_id is None) == (not all_):
        fail(t("cli.error.backup_id_or_all", CLI_LANGUAGE), code=2)
    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        DatabaseBackupEngine(plan, db).recover()
        results = (verify_all(plan, db, deep=deep) if all_
                   else [verify_backup(plan, db, backup_id, deep=deep)])
    if as_json:
        print_json([{"id": r.backup_id, "ok": r.ok, "deep": r.deep, "reason": r.reason} for r in results])
    else:
        how = t("backup.verify.deep" if deep else "backup.verify.hash", plan.language)
        for r in results:
            if r.ok:
                out.print(t("backup.verify.ok", plan.language, id=r.backup_id, how=how), markup=False)
            else:
                err.print(t("backup.verify.failed", plan.language, id=r.backup_id, reason=r.reason), markup=False)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def backup_capture(ctx: typer.Context,
                   backup_id: int = typer.Argument(None, help=help_text("help.backup.capture_id")),
                   as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Record per-table row counts and checksums from a backup's prepared copy (what serve does after a backup)."""
    from opsplan.backup.database import catalog
    from opsplan.runbooks.restore.capture import capture_backup

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        if backup_id is None:
            with db.session() as session:
                tip = catalog.last_chain_tip(session)
                backup_id = tip.id if tip is not None else None
            if backup_id is None:
                fail(t("backup.capture.none", plan.language))
        result = capture_backup(plan, db, backup_id)
    if as_json:
        print_json({"id": result.backup_id, "tables": result.tables, "seconds": round(result.seconds, 3)})
        return
    out.print(t("backup.capture.done", plan.language, id=result.backup_id, tables=result.tables,
                seconds=fmt.seconds(result.seconds, precision=0, language=plan.language)), markup=False)


def backup_check(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Tell what a database backup here lacks: privileges, binaries, space and permissions."""
    from opsplan.backup.database.check import run_checks

    plan = plan_from(ctx)
    with one_line_errors():
        results = run_checks(plan)
    if as_json:
        print_json([{"check": r.name, "ok": r.ok, "detail": r.detail} for r in results])
    else:
        for r in results:
            word = t("backup.check.ok" if r.ok else "backup.check.problem", plan.language)
            out.print(f"{r.name}: {word}: {r.detail}", markup=False)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def backup_binlogs(ctx: typer.Context,
                   as_json: bool = typer.Option(False, "--json", help=help_text("help.json")),
                   include_pruned: bool = typer.Option(False, "--all",
                                                       help=help_text("help.backup.binlogs_all"))) -> None:
    """List archived binary logs: file, first/last event time, size, hash."""
    from opsplan.backup.binlogs import archive as binlogs

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db, db.session() as session:
        rows = binlogs.all_rows(session) if include_pruned else binlogs.archived(session)
        data = [binlogs.row_json(r, plan.timezone) for r in rows]
    if as_json:
        print_json(data)
        return
    if not data:
        out.print(t("binlogs.list.empty", plan.language))
        return
    out.print(t("binlogs.list.header", plan.language), markup=False)
    for row in data:
        extra = f"  {row['status']}" if row["status"] != "ok" else ""
        extra += "  (pruned)" if row["pruned"] else ""
        out.print(f"{row['file']}  {row['first_event'] or '-'}  {row['last_event'] or '-'}  "
                  f"{fmt.size_short(row['size'] or 0)}  {row['hash'] or '-'}{extra}", markup=False)


def backup_archive_binlogs(ctx: typer.Context,
                           as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Archive closed binary logs now (FLUSH BINARY LOGS, then copy, compress, hash, catalog)."""
    from opsplan.backup.binlogs.archive import archive_binlogs

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        result = archive_binlogs(plan, db)
    if as_json:
        print_json({"log_bin": result.log_bin, "archived": result.archived})
    elif not result.log_bin:
        err.print(t("binlogs.log_bin_off", plan.language), markup=False)
    elif result.archived:
        out.print(t("binlogs.archived", plan.language, count=len(result.archived), names=", ".join(result.archived)),
                  markup=False)
    else:
        out.print(t("binlogs.nothing_new", plan.language))
    if not result.log_bin:
        raise typer.Exit(1)


def register(group: typer.Typer) -> None:
    """Add this module's commands to the `opsplan backup` group."""
    group.command("binlogs", help=help_text("help.cmd.backup_binlogs"))(backup_binlogs)
    group.command("archive-binlogs", help=help_text("help.cmd.backup_archive_binlogs"))(backup_archive_binlogs)
    group.command("db", help=help_text("help.cmd.backup_db"))(backup_db)
    group.command("list", help=help_text("help.cmd.backup_list"))(backup_list)
    group.command("prune", help=help_text("help.cmd.backup_prune"))(backup_prune)
    group.command("verify", help=help_text("help.cmd.backup_verify"))(backup_verify)
    group.command("check", help=help_text("help.cmd.backup_check"))(backup_check)
    group.command("capture", help=help_text("help.cmd.backup_capture"))(backup_capture)

