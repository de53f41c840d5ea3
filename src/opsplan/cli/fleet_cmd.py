"""`opsplan fleet export`: one Prometheus (or a pair) and an Alertmanager cluster for many hosts, each
running `opsplan serve` with its own plan (docs/fleet.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsplan.cli.common import one_line_errors, out
from opsplan.cli.export_cmd import _plan_token_file, _seconds
from opsplan.cli.language import help_text

if TYPE_CHECKING:
    from opsplan.plan.models import Plan

fleet_app = typer.Typer(no_args_is_help=True, help=help_text("help.fleet"))


def register(app: typer.Typer) -> None:
    """Add the `fleet` group."""
    fleet_app.command("export", help=help_text("help.cmd.fleet_export"))(fleet_export)
    app.add_typer(fleet_app, name="fleet")


def _load(path: Path) -> Plan:
    """The host's plan, checked as `opsplan plan check` checks it; its first problem as the one line."""
    from opsplan.errors import PlanError
    from opsplan.plan.loader import all_errors, find_plan_path
    from opsplan.stages.all import load_plan

    try:
        return load_plan(find_plan_path(path))
    except PlanError as exc:
        raise all_errors(exc)[0] from None


def fleet_export(
    plans: list[Path] = typer.Argument(None, metavar="PLAN", help=help_text("help.fleet.plans"),
                                      show_default=False),
    hosts_file: Path = typer.Option(None, "--hosts", help=help_text("help.fleet.hosts")),
    out_dir: Path = typer.Option(..., "--out", help=help_text("help.export.out")),
    force: bool = typer.Option(False, "--force", help=help_text("help.export.force")),
    alertmanager_urls: list[str] = typer.Option(None, "--alertmanager-url", metavar="URL",
                                                help=help_text("help.fleet.alertmanager_url")),
    prometheus_url: str = typer.Option(None, "--prometheus-url", help=help_text("help.export.prometheus_url")),
    scrape_interval: str = typer.Option(None, "--scrape-interval", help=help_text("help.export.scrape_interval")),
    evaluation_interval: str = typer.Option(None, "--evaluation-interval",
                                            help=help_text("help.export.evaluation_interval")),
    group_wait: str = typer.Option(None, "--group-wait", help=help_text("help.export.group_wait")),
    group_interval: str = typer.Option(None, "--group-interval", help=help_text("help.export.group_interval")),
    webhook_url: str = typer.Option(None, "--webhook-url", help=help_text("help.fleet.webhook_url")),
    token_file: Path = typer.Option(None, "--token-file", help=help_text("help.export.token_file")),
) -> None:
    """Write the fleet's Prometheus, Alertmanager and Grafana configuration."""
    from opsplan.errors import OpsplanError, said
    from opsplan.export import targets_for
    from opsplan.export.fleet import Fleet, FleetHost, host_address, render_fleet
    from opsplan.export.fleet_alertmanager import fleet_member
    from opsplan.export.fleet_hosts import HostEntry, read_hosts_file
    from opsplan.export.targets import DEFAULT_ALERTMANAGER
    from opsplan.export.writer import write_export
    from opsplan.i18n import t
    from opsplan.stages.all import metric_registry

    timings = {"scrape_interval": _seconds(scrape_interval, "--scrape-interval"),
               "evaluation_interval": _seconds(evaluation_interval, "--evaluation-interval"),
               "group_wait": _seconds(group_wait, "--group-wait"),
               "group_interval": _seconds(group_interval, "--group-interval")}
    with one_line_errors():
        listed = read_hosts_file(hosts_file) if hosts_file is not None else None
        entries = [HostEntry(plan=path) for path in plans or []] + (listed.hosts if listed else [])
        if not entries:
            raise said(OpsplanError, "fleet.error.no_hosts")
        loaded = [(entry, _load(entry.plan)) for entry in entries]
        first = loaded[0][1]
        if alertmanager_urls:
            members = [fleet_member(url) for url in alertmanager_urls]
        elif listed and listed.alertmanagers:
            members = [fleet_member(m.url, m.cluster) for m in listed.alertmanagers]
        else:
            members = [fleet_member(first.monitoring.alertmanager_url or DEFAULT_ALERTMANAGER)]
        hosts = []
        for entry, plan in loaded:
            name = entry.name or plan.server.name
            targets = targets_for(
                plan, opsplan_url=host_address(plan, entry.url, name), alertmanager_url=members[0].endpoint.url,
                prometheus_url=prometheus_url, webhook_url=webhook_url, **timings,
                token_file=entry.token_file or (token_file.resolve() if token_file else None)
                or _plan_token_file(plan))
            hosts.append(FleetHost(name, plan, targets, str(entry.plan)))
        fleet = Fleet(hosts, members, hosts[0].targets.prometheus)
        result = write_export(out_dir, render_fleet(fleet, out_dir, metric_registry()), force=force)
    for rel in result.written:
        out.print(str(out_dir / rel), markup=False)
    out.print(t("export.done", first.language, n=len(result.written), removed=len(result.removed),
                out=str(out_dir)), markup=False)
