"""`opsplan report list|show|export`: a stored check run as a report in Korean or English
(HTML with inline charts, Markdown, JSON, and PDF through the optional WeasyPrint: opsplan/pdf.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from opsplan import format as fmt
from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.i18n import t

report_app = typer.Typer(no_args_is_help=True, help=help_text("help.report"))

FORMATS = ("html", "md", "json", "pdf")
LANGUAGES = ("ko", "en")


def register(app: typer.Typer) -> None:
    """Add the `report` group."""
    app.add_typer(report_app, name="report")


@report_app.command("list", help=help_text("help.cmd.report_list"))
def list_command(ctx: typer.Context,
                 limit: int = typer.Option(50, "--limit", min=1, help=help_text("help.audit.limit")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    from opsplan.checks import runs
    from opsplan.cli.check_cmd import print_runs

    plan = plan_from(ctx)
    lang, tz = plan.language, plan.timezone
    with one_line_errors(), state_db(plan) as db:
        found = [r for r in runs.list_runs(db, limit=limit) if r["finished_at"] is not None]
    if as_json:
        print_json({"timezone": tz, "reports": [{"id": r["id"], "period": r["period"], "status": r["status"],
                                                 "finished_at": fmt.iso_local(r["finished_at"], tz),
                                                 "signed": r["signed"] is not None} for r in found]})
        return
    print_runs(found, lang, tz, when="finished_at")


def _language(value: str | None, plan_language: str) -> str:
    if value is None:
        return plan_language
    if value not in LANGUAGES:
        fail(t("checks.cli.bad_language", plan_language, lang=value, known=", ".join(LANGUAGES)), code=2)
    return value


@report_app.command("show", help=help_text("help.cmd.report_show"))
def show_command(ctx: typer.Context, run_id: int = typer.Argument(..., help=help_text("help.check.id")),
                 lang: str = typer.Option(None, "--lang", help=help_text("help.report.lang"))) -> None:
    from opsplan.checks import runs
    from opsplan.checks.report import render

    plan = plan_from(ctx)
    language = _language(lang, plan.language)
    with one_line_errors(), state_db(plan) as db:
        run = runs.get_run(db, run_id)
    typer.echo(render(run, "md", language, plan.timezone), nl=False)


@report_app.command("export", help=help_text("help.cmd.report_export"))
def export_command(ctx: typer.Context, run_id: int = typer.Argument(..., help=help_text("help.check.id")),
                   format_: str = typer.Option("html", "--format", help=help_text("help.report.format")),
                   lang: str = typer.Option(None, "--lang", help=help_text("help.report.lang")),
                   out_path: Path = typer.Option(None, "--out", help=help_text("help.report.out"))) -> None:
    from opsplan.checks import runs
    from opsplan.checks.report import render

    plan = plan_from(ctx)
    language = _language(lang, plan.language)
    if format_ not in FORMATS:
        fail(t("checks.cli.bad_format", plan.language, value=format_, known=", ".join(FORMATS)), code=2)
    if format_ == "pdf" and out_path is None and sys.stdout.isatty():
        fail(t("checks.cli.pdf_needs_out", plan.language), code=2)
    with one_line_errors(), state_db(plan) as db:
        run = runs.get_run(db, run_id)
    if format_ == "pdf":
        from opsplan.pdf import html_to_pdf

        with one_line_errors():  # no WeasyPrint, no Korean font: one line, and no file written
            document: str | bytes = html_to_pdf(render(run, "html", language, plan.timezone))
    else:
        document = render(run, format_, language, plan.timezone)
    if out_path is None:
        if isinstance(document, bytes):
            sys.stdout.buffer.write(document)
            sys.stdout.buffer.flush()
        else:
            typer.echo(document, nl=False)
        return
    try:
        # A report names hosts, services and people: readable by its owner only, like the state DB.
        fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(document if isinstance(document, bytes) else document.encode("utf-8"))
    except OSError as exc:
        fail(t("checks.cli.write_failed", plan.language, path=str(out_path), reason=exc.strerror or str(exc)))
    out.print(t("checks.cli.exported", plan.language, path=str(out_path)), markup=False, highlight=False)
