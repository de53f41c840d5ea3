"""`opsplan collect --once [--json]`: one collection cycle, printed for people or scripts."""

from __future__ import annotations

import json

import typer

from opsplan import format as fmt
from opsplan.cli.common import one_line_errors, out, plan_from
from opsplan.cli.language import help_text
from opsplan.cli.tables import wrapping_table
from opsplan.i18n import t


def register(app: typer.Typer) -> None:
    @app.command(help=help_text("help.cmd.collect"))
    def collect(ctx: typer.Context,
                once: bool = typer.Option(True, "--once", help=help_text("help.collect.once")),
                as_json: bool = typer.Option(False, "--json", help=help_text("help.collect.json"))) -> None:
        """Run one collection cycle and print every sample."""
        from opsplan.collectors.build import build_collectors
        from opsplan.collectors.runner import CollectionRunner

        plan = plan_from(ctx)
        with one_line_errors():
            collectors, rollups = build_collectors(plan, one_shot=True)
            runner = CollectionRunner(collectors, rollups=rollups, deadline=max(1.0, plan.monitoring.interval))
            try:
                cycle = runner.run_once()
            finally:
                runner.close()
        if as_json:
            print(json.dumps({
                "timestamp": cycle.timestamp,
                "seconds": cycle.seconds,
                "collectors": [{"name": s.name, "up": s.up, "reason": s.reason} for s in cycle.statuses],
                "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in cycle.samples],
            }, ensure_ascii=False))
            return
        # Names and values never break (a name is what an operator searches for); labels wrap, one a
        # line; values read as people read them (times, sizes, durations, %), exact ones are in --json.
        rows = [[s.name, "\n".join(f"{k}={v}" for k, v in s.labels), fmt.metric_value(s.name, s.value, plan.timezone)]
                for s in sorted(cycle.samples, key=lambda s: (s.name, s.labels))]
        out.print(wrapping_table(t("collect.columns", plan.language).split("|"), rows, whole=(0, 2), right=(2,)))
        out.print(t("collect.cycle", plan.language, n=len(cycle.samples),
                    seconds=fmt.seconds(cycle.seconds, precision=2, language=plan.language)))
