"""`opsplan export --out DIR`: Prometheus rules and config, Alertmanager config, Grafana provisioning,
and the systemd unit that runs `opsplan serve` (docs/install.md)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsplan.cli.common import fail, one_line_errors, out, plan_from
from opsplan.cli.language import CLI_LANGUAGE, help_text
from opsplan.i18n import t

if TYPE_CHECKING:
    from opsplan.plan.models import Plan


def _seconds(value: str | None, option: str) -> float | None:
    from opsplan.plan.types import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except Exception:  # noqa: BLE001 - pydantic's error type; the message below says what to write
        fail(t("cli.error.duration", CLI_LANGUAGE, option=option, value=repr(value[:40])), code=2)
        raise  # unreachable: fail() exits


def register(app: typer.Typer) -> None:
    @app.command("export", help=help_text("help.cmd.export"))
    def export_cmd(
        ctx: typer.Context,
        out_dir: Path = typer.Option(..., "--out", help=help_text("help.export.out")),
        force: bool = typer.Option(False, "--force", help=help_text("help.export.force")),
        opsplan_url: str = typer.Option(None, "--opsplan-url",
                                        help=help_text("help.export.opsplan_url")),
        alertmanager_url: str = typer.Option(None, "--alertmanager-url",
                                             help=help_text("help.export.alertmanager_url")),
        prometheus_url: str = typer.Option(None, "--prometheus-url",
                                           help=help_text("help.export.prometheus_url")),
        scrape_interval: str = typer.Option(None, "--scrape-interval", help=help_text("help.export.scrape_interval")),
        evaluation_interval: str = typer.Option(None, "--evaluation-interval",
                                                help=help_text("help.export.evaluation_interval")),
        group_wait: str = typer.Option(None, "--group-wait", help=help_text("help.export.group_wait")),
        group_interval: str = typer.Option(None, "--group-interval", help=help_text("help.export.group_interval")),
        webhook_url: str = typer.Option(None, "--webhook-url",
                                        help=help_text("help.export.webhook_url")),
        token_file: Path = typer.Option(None, "--token-file",
                                        help=help_text("help.export.token_file")),
        program: Path = typer.Option(None, "--program", help=help_text("help.export.program")),
    ) -> None:
        """Write the plan as Prometheus, Alertmanager and Grafana configuration (seed §3.1) and a systemd unit."""
        from opsplan.export import Install, export, targets_for
        from opsplan.i18n import t
        from opsplan.plan.loader import find_plan_path
        from opsplan.stages.all import metric_registry

        plan = plan_from(ctx)
        with one_line_errors():
            program_path, found = _program(program)
            install = Install(program=program_path, program_found=found,
                              plan_path=find_plan_path((ctx.obj or {}).get("plan_path")).resolve())
            targets = targets_for(
                plan, opsplan_url=opsplan_url, alertmanager_url=alertmanager_url, prometheus_url=prometheus_url,
                scrape_interval=_seconds(scrape_interval, "--scrape-interval"),
                evaluation_interval=_seconds(evaluation_interval, "--evaluation-interval"),
                group_wait=_seconds(group_wait, "--group-wait"),
                group_interval=_seconds(group_interval, "--group-interval"), webhook_url=webhook_url,
                token_file=(token_file.resolve() if token_file else None) or _plan_token_file(plan))
            result = export(plan, out_dir, targets, metric_registry(), install=install, force=force)
        for rel in result.written:
            out.print(str(out_dir / rel), markup=False)
        out.print(t("export.done", plan.language, n=len(result.written), removed=len(result.removed),
                    out=str(out_dir)), markup=False)


def _program(given: Path | None) -> tuple[Path, bool]:
    """The opsplan the unit starts, and whether it was found: the one given, else the one running
    now, else install.md's place (the unit then says it was not found here)."""
    from opsplan.errors import OpsplanError
    from opsplan.export.systemd import DEFAULT_PROGRAM

    if given is not None:
        if not given.is_file():
            raise OpsplanError(f"--program: {given} is not a file; give the installed opsplan, "
                               f"e.g. {DEFAULT_PROGRAM}")
        return given.absolute(), True
    running = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    found = shutil.which("opsplan")
    # Not resolved: a virtualenv's python is a link to the system's, its opsplan is not.
    for candidate in (running if running is not None and running.name == "opsplan" else None,
                      Path(sys.executable).parent / "opsplan", Path(found) if found else None):
        if candidate is not None and candidate.is_file():
            return candidate.absolute(), True
    return DEFAULT_PROGRAM, False


def _plan_token_file(plan: Plan) -> Path | None:
    # The same file web/auth.py reads; a token given only as an environment variable cannot be
    # referenced from alertmanager.yml, so then --token-file names a file Alertmanager may read.
    value = getattr(plan.web, "api_token_file", None)
    return Path(value).resolve() if value else None
