"""`opsplan db migrate|status|copy`: the state database's schema, for an operator moving it to a server.

The URL comes from the plan (SQLite in data_dir, or the environment variable `state_db_url_env`
names); it is shown with its password masked, and errors are one line without it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json
from opsplan.cli.language import help_text
from opsplan.cli.tables import wrapping_table
from opsplan.errors import in_language
from opsplan.i18n import t

if TYPE_CHECKING:
    from opsplan.plan.models import Plan
    from opsplan.store.copy import Copied
    from opsplan.store.revisions import BranchStatus

BEHIND = 3  # `db status`'s exit code when a branch is not at its newest revision

db_app = typer.Typer(no_args_is_help=True, help=help_text("help.db"))


def register(app: typer.Typer) -> None:
    """Add the `db` group."""
    db_app.command("migrate", help=help_text("help.cmd.db_migrate"))(migrate)
    db_app.command("status", help=help_text("help.cmd.db_status"))(status)
    db_app.command("copy", help=help_text("help.cmd.db_copy"))(copy)
    app.add_typer(db_app, name="db")


def migrate(ctx: typer.Context,
            as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Bring every branch to its head (what serve and every command do on start), then show them."""
    from opsplan.store.revisions import branch_status
    from opsplan.store.state import StateDB, shown_url, state_url

    plan = plan_from(ctx)
    with one_line_errors():
        url = state_url(plan.data_dir, plan.state_db_url_env, os.environ)
        db = StateDB.open(url)
        try:
            branches = branch_status(db)
        finally:
            db.close()
    if as_json:
        print_json({"url": shown_url(url), "branches": [_as_dict(b) for b in branches]})
        return
    lang = plan.language
    out.print(t("db.cli.where", lang, url=shown_url(url)), markup=False)
    out.print(t("db.cli.migrated", lang, n=len(branches)), markup=False)


def status(ctx: typer.Context,
           as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Each branch's current and newest revision, without changing anything; exit 3 if one is behind."""
    from opsplan.store.revisions import branch_status
    from opsplan.store.state import StateDB, shown_url, state_url

    plan = plan_from(ctx)
    lang = plan.language
    with one_line_errors():
        url = state_url(plan.data_dir, plan.state_db_url_env, os.environ)
        db = StateDB.open(url, migrate=False)
        try:
            branches = branch_status(db)
        finally:
            db.close()
    behind = [b for b in branches if not b.at_head]
    if as_json:
        print_json({"url": shown_url(url), "at_head": not behind, "branches": [_as_dict(b) for b in branches]})
    else:
        out.print(t("db.cli.where", lang, url=shown_url(url)), markup=False)
        none = t("db.cli.none", lang)
        rows = [[b.branch, b.current or none, b.head, t("db.cli.at_head", lang) if b.at_head
                 else t("db.cli.behind", lang)] for b in branches]
        out.print(wrapping_table(t("db.cli.columns", lang).split("|"), rows, whole=(0, 1, 2)))
        if behind:
            out.print(t("db.cli.behind_hint", lang), markup=False)
    if behind:
        raise typer.Exit(BEHIND)


def _as_dict(branch: BranchStatus) -> dict[str, object]:
    return {"branch": branch.branch, "current": branch.current, "head": branch.head, "at_head": branch.at_head}


def copy(ctx: typer.Context,
         source: Path = typer.Option(None, "--from", metavar="FILE", help=help_text("help.db.copy_from")),
         as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Copy the SQLite state database (the data dir's, or --from) into the server the plan's
    `state_db_url_env` names: the move keeps every alert, backup, incident, user and audit entry."""
    from opsplan.store.copy import CopyRefused, copy_state
    from opsplan.store.state import StateDB, shown_url, state_url

    plan = plan_from(ctx)
    lang = plan.language
    with one_line_errors():
        if not plan.state_db_url_env or not os.environ.get(plan.state_db_url_env):
            fail(t("db.cli.copy_no_target", lang, env=plan.state_db_url_env or "state_db_url_env"))
        file = Path(source) if source is not None else Path(plan.data_dir) / "state.db"
        if not file.is_file():
            fail(t("db.cli.copy_no_source", lang, path=str(file)))
        if _serve_running(plan):
            fail(t("db.cli.copy_serve_running", lang))
        target_url = state_url(plan.data_dir, plan.state_db_url_env, os.environ)
        source_db = StateDB.open(f"sqlite:///{file.resolve()}", migrate=False)
        target_db = StateDB.open(target_url, migrate=False)
        try:
            def shown(done: Copied) -> None:
                if not as_json:
                    out.print(t("db.cli.copied_table", lang, table=done.table, n=done.rows), markup=False)

            try:
                copied = copy_state(source_db, target_db, shown)
            except CopyRefused as exc:
                fail(t("db.cli.copy_refused", lang, reason=in_language(exc, lang)))
        finally:
            source_db.close()
            target_db.close()
    total = sum(c.rows for c in copied)
    if as_json:
        print_json({"from": str(file), "to": shown_url(target_url), "rows": total,
                    "tables": {c.table: c.rows for c in copied}})
        return
    out.print(t("db.cli.copy_done", lang, n=total, tables=len(copied), url=shown_url(target_url)), markup=False)


def _serve_running(plan: Plan) -> bool:
    """Whether a `serve` holds the plan's metrics store: it would keep writing to the SQLite file
    after the copy, and those writes would be lost."""
    import fcntl

    lock = Path(plan.data_dir) / "metrics" / "LOCK"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases the shared lock taken just to look
    return False
