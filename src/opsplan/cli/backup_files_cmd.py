"""`opsplan backup model|models|config`: AI model versions and configuration history (seed §4.1)."""

from __future__ import annotations

import typer

from opsplan import format as fmt
from opsplan.cli.common import err, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.cli.tables import wrapping_table
from opsplan.i18n import t

config_app = typer.Typer(help=help_text("help.backup.config"))


def backup_model(ctx: typer.Context,
                 name: str = typer.Argument(..., help=help_text("help.model_name")),
                 version: str = typer.Option(None, "--version", help=help_text("help.backup.model_version")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    """Back up one AI model now when its folder changed (or as a declared --version)."""
    from opsplan.backup.files_jobs import backup_models

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        result = backup_models(plan, db, only=name, version=version)[0]
    if as_json:
        print_json({"model": result.model, "status": result.status, "version": result.version, "files": result.files,
               "size_bytes": result.size_bytes, "copied_bytes": result.copied_bytes, "changed": result.changed,
               "pruned": result.pruned})
        return
    key = "backup.model.stored" if result.status == "ok" else "backup.model.unchanged"
    out.print(t(key, plan.language, model=result.model, version=result.version, files=result.files,
                size=fmt.size(result.size_bytes, style="binary", language=plan.language),
                copied=fmt.size(result.copied_bytes, style="binary", language=plan.language)), markup=False)
    if result.pruned:
        out.print(t("backup.model.pruned", plan.language, model=result.model, versions=", ".join(result.pruned)),
                  markup=False)


def backup_models_list(ctx: typer.Context,
                       as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    """List the kept versions of every model, oldest first."""
    from opsplan.backup.files_jobs import model_store

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        rows = model_store(plan, db).versions()
    if as_json:
        print_json([{"model": r.model, "version": r.version,
                     "created_at": fmt.iso_local(fmt.timestamp(r.created_at), plan.timezone),
                     "files": r.files, "size_bytes": r.size_bytes, "content_hash": r.content_hash} for r in rows])
        return
    if not rows:
        out.print(t("backup.models.empty", plan.language))
        return
    cells = [[r.model, r.version, fmt.local_time(fmt.timestamp(r.created_at), plan.timezone, zone_name=True),
              fmt.figure(r.files), fmt.size_short(r.size_bytes)] for r in rows]
    out.print(wrapping_table(("model", "version", "created", "files", "size"), cells, whole=(2,), right=(3, 4),
                             title=t("backup.models.title", plan.language)))


@config_app.callback(invoke_without_command=True)
def backup_config(ctx: typer.Context,
                  as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    """Copy the plan's configuration paths into the Git history; commit when something changed."""
    if ctx.invoked_subcommand is not None:
        return
    from opsplan.backup.files_jobs import backup_config as run_config_backup

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        result = run_config_backup(plan, db)
    if as_json:
        print_json({"status": result.status, "commit": result.commit, "changed": result.changed,
               "excluded": [{"path": e.path, "reason": e.reason} for e in result.excluded],
               "missing": result.missing, "unreadable": result.unreadable})
        return
    lang = plan.language
    if result.status == "ok":
        out.print(t("backup.config.committed", lang, commit=(result.commit or "")[:12], n=len(result.changed)),
                  markup=False)
        for line in result.changed:
            out.print(f"  {line}", markup=False)
    else:
        out.print(t("backup.config.unchanged", lang), markup=False)
    for e in result.excluded:
        out.print(t("backup.config.excluded", lang, path=e.path, reason=e.reason), markup=False)
    for path in result.missing:
        err.print(t("backup.config.missing", lang, path=path), markup=False)
    for path in result.unreadable:
        err.print(t("backup.config.unreadable", lang, path=path), markup=False)


@config_app.command("log", help=help_text("help.cmd.config_log"))
def config_log(ctx: typer.Context,
               limit: int = typer.Option(50, "--limit", min=1, help=help_text("help.backup.config_log_count")),
               as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    """The configuration history: each commit with its time and changed files."""
    from opsplan.backup.files_jobs import config_repo

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        commits = config_repo(plan, db).log(limit)
    if as_json:
        print_json([{"commit": c.commit, "time": fmt.iso_local(c.timestamp, plan.timezone), "subject": c.subject,
                "files": c.files} for c in commits])
        return
    if not commits:
        out.print(t("backup.config.no_history", plan.language))
    for c in commits:
        out.print(f"{c.commit[:12]}  {fmt.local_time(c.timestamp, plan.timezone, zone_name=True)}  {c.subject}",
                  markup=False)
        for line in c.files:
            out.print(f"    {line}", markup=False)


@config_app.command("diff", help=help_text("help.cmd.config_diff"))
def config_diff(ctx: typer.Context,
                rev: str = typer.Argument(None, help=help_text("help.backup.config_diff_since"))) -> None:
    """Show configuration changes as a unified diff."""
    from opsplan.backup.files_jobs import config_repo

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        text = config_repo(plan, db).diff(rev)
    out.print(text.rstrip("\n") if text else t("backup.config.no_history", plan.language), markup=False)


def register(group: typer.Typer) -> None:
    """Add this module's commands to the `opsplan backup` group."""
    group.command("model", help=help_text("help.cmd.backup_model"))(backup_model)
    group.command("models", help=help_text("help.cmd.backup_models"))(backup_models_list)
    group.add_typer(config_app, name="config")

