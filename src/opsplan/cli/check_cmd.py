"""`opsplan check run|list|show|sign|tick`: run a period's checks now, read the stored runs, sign one off."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import typer

from opsplan import format as fmt
from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.i18n import t

check_app = typer.Typer(no_args_is_help=True, help=help_text("help.check"))

PERIODS = ("daily", "weekly", "monthly", "quarterly")
_STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "not-run": "magenta", "manual": "blue"}


def register(app: typer.Typer) -> None:
    """Add the `check` group."""
    app.add_typer(check_app, name="check")


def cli_actor() -> str:
    from opsplan.cli.user_cmd import actor

    return actor()


def localised(run: dict[str, Any], tz: str) -> dict[str, Any]:
    """A run for --json: its times as ISO 8601 in the plan's timezone."""
    shown = {**run, "window": {k: fmt.iso_local(v, tz) for k, v in run["window"].items()},
             "started_at": fmt.iso_local(run["started_at"], tz), "finished_at": fmt.iso_local(run["finished_at"], tz)}
    if run.get("signed"):
        shown["signed"] = {**run["signed"], "at": fmt.iso_local(run["signed"]["at"], tz)}
    return shown


@check_app.command("run", help=help_text("help.cmd.check_run"))
def run_command(ctx: typer.Context,
                period: str = typer.Argument(..., help=help_text("help.check.period")),
                for_date: str = typer.Option(None, "--for", help=help_text("help.check.for")),
                as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    """Run every item of the period now, store the run, print each item's status (exit 1 on a failure)."""
    plan = plan_from(ctx)
    lang, tz = plan.language, plan.timezone
    if period not in PERIODS:
        fail(t("checks.cli.bad_period", lang, period=period, known=", ".join(PERIODS)), code=2)
    day = None
    if for_date is not None:
        try:
            day = date.fromisoformat(for_date.strip())
        except ValueError:
            fail(t("checks.cli.bad_date", lang, value=for_date), code=2)
    from opsplan.checks import runs
    from opsplan.checks.report.render import status_text
    from opsplan.checks.report.values import text
    from opsplan.store.reading import open_for_reading

    with one_line_errors():
        # Read-only: works while `opsplan serve` writes the store (docs/metrics.md).
        store = open_for_reading(plan)
    try:
        with one_line_errors(), state_db(plan) as db:
            outcome = runs.run_checks(plan, db, period, store=store, actor=cli_actor(), now=time.time(),
                                      for_date=day)
            # Its summary goes to the outbox (sent by serve's notifier or `opsplan notify`), and its
            # failed items open or join incidents, as when serve runs it.
            from opsplan.checks.after_run import follow_up
            from opsplan.incidents.lifecycle import Incidents

            after = follow_up(plan, db, outcome.run_id, incidents=Incidents(plan, db), now=time.time())
            run = runs.get_run(db, outcome.run_id)
    finally:
        if store is not None:
            store.close()
    if as_json:
        print_json(localised(run, tz))
    else:
        out.print(t("checks.cli.run_done", lang, id=run["id"], status=status_text(run["status"], lang)),
                  markup=False, highlight=False)
        for item in run["items"]:
            from opsplan.checks.model import ItemResult

            summary = text(ItemResult.from_dict(item["result"]).summary, lang) if item["result"] \
                else t("checks.report.awaiting_tick", lang)
            out.print(f"  {status_text(item['status'], lang)} | {item['title']['ko' if lang == 'ko' else 'en']} | "
                      f"{summary}", markup=False, highlight=False, style=_STATUS_STYLE.get(item["status"]))
        if after.channels:
            out.print(t("checks.cli.summary_queued", lang, names=", ".join(after.channels)), markup=False,
                      highlight=False)
        touched = after.incidents.opened + after.incidents.joined
        if touched:
            out.print(t("checks.cli.incidents", lang, ids=", ".join(str(i) for i in touched)), markup=False,
                      highlight=False)
    raise typer.Exit(1 if run["status"] == "fail" else 0)


@check_app.command("list", help=help_text("help.cmd.check_list"))
def list_command(ctx: typer.Context,
                 period: str = typer.Option(None, "--period", help=help_text("help.check.period")),
                 limit: int = typer.Option(50, "--limit", min=1, help=help_text("help.audit.limit")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    from opsplan.checks import runs

    plan = plan_from(ctx)
    lang, tz = plan.language, plan.timezone
    if period is not None and period not in PERIODS:
        fail(t("checks.cli.bad_period", lang, period=period, known=", ".join(PERIODS)), code=2)
    with one_line_errors(), state_db(plan) as db:
        found = runs.list_runs(db, period=period, limit=limit)
    if as_json:
        print_json({"timezone": tz, "runs": [localised(r, tz) for r in found]})
        return
    print_runs(found, lang, tz, when="started_at")


def print_runs(found: list[dict[str, Any]], lang: str, tz: str, *, when: str) -> None:
    """The runs table `check list` and `report list` print: id, period, the run's `when` time
    (started_at or finished_at), status, who signed it off."""
    from opsplan.checks.report.render import period_text, status_text

    if not found:
        out.print(t("checks.cli.none", lang), markup=False)
        return
    out.print(" | ".join(t("checks.cli.columns", lang).split("|")), markup=False, highlight=False, style="bold")
    for r in found:
        out.print(" | ".join([str(r["id"]), period_text(r["period"], lang),
                              fmt.local_time(r[when], tz, zone_name=True),
                              status_text(r["status"], lang), r["signed"]["by"] if r["signed"] else "-"]),
                  markup=False, highlight=False)


# A failed check item's entries on its incident's timeline (checks/failed_items.py): literal keys.
@check_app.command("show", help=help_text("help.cmd.check_show"))
def show_command(ctx: typer.Context, run_id: int = typer.Argument(..., help=help_text("help.check.id")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    from opsplan.checks import runs
    from opsplan.checks.report.render import to_markdown

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        run = runs.get_run(db, run_id)
    if as_json:
        print_json(localised(run, plan.timezone))
    else:
        typer.echo(to_markdown(run, plan.language, plan.timezone))


@check_app.command("sign", help=help_text("help.cmd.check_sign"))
def sign_command(ctx: typer.Context, run_id: int = typer.Argument(..., help=help_text("help.check.id")),
                 note: str = typer.Option(None, "--note", help=help_text("help.check.note")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    from opsplan.checks import runs

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        run = runs.sign(db, run_id, by=cli_actor(), note=note, now=time.time())
    if as_json:
        print_json(localised(run, plan.timezone))
    else:
        out.print(t("checks.cli.signed", plan.language, id=run_id, by=run["signed"]["by"]), markup=False,
                  highlight=False)


@check_app.command("tick", help=help_text("help.cmd.check_tick"))
def tick_command(ctx: typer.Context, run_id: int = typer.Argument(..., help=help_text("help.check.id")),
                 position: int = typer.Argument(..., help=help_text("help.check.position")),
                 note: str = typer.Option(None, "--note", help=help_text("help.check.note"))) -> None:
    from opsplan.checks import runs

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        runs.tick(db, run_id, position, by=cli_actor(), note=note, now=time.time())
    out.print(t("checks.cli.ticked", plan.language, id=run_id, n=position), markup=False, highlight=False)
