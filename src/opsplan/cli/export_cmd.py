"""`opsplan export --out DIR`: Prometheus rules and config, Alertmanager config, Grafana provisioning."""

from __future__ import annotations

from pathlib import Path

import typer

from opsplan.cli.common import fail, one_line_errors, out, plan_from
from opsplan.cli.language import CLI_LANGUAGE, help_text
from opsplan.i18n import t
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
    ) -> None:
        """Write the plan as Prometheus, Alertmanager and Grafana configuration (seed §3.1)."""
        from opsplan.export import export, targets_for
        from opsplan.i18n import t
        from opsplan.stages.all import metric_registry

        plan = plan_from(ctx)
        with one_line_errors():
            targets = targets_for(
                plan, opsplan_url=opsplan_url, alertmanager_url=alertmanager_url, prometheus_url=prometheus_url,
                scrape_interval=_seconds(scrape_interval, "--scrape-interval"),
                evaluation_interval=_seconds(evaluation_interval, "--evaluation-interval"),
                group_wait=_seconds(group_wait, "--group-wait"),
                group_interval=_seconds(group_interval, "--group-interval"), webhook_url=webhook_url,
                token_file=(token_file.resolve() if token_file else None) or _plan_token_file(plan))
            result = export(plan, out_dir, targets, metric_registry(), force=force)
        for rel in result.written:
            out.print(str(out_dir / rel), markup=False)
        out.print(t("export.done", plan.language, n=len(result.written), removed=len(result.removed),
                    out=str(out_dir)), markup=False)


def _plan_token_file(plan: Plan) -> Path | None:
    # The same file web/auth.py reads; a token given only as an environment variable cannot be
    # referenced from alertmanager.yml, so then --token-file names a file Alertmanager may read.
    value = getattr(plan.web, "api_token_file", None)
    return Path(value).resolve() if value else None
