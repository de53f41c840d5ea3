"""`opsplan serve`: the long-running job."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from opsplan.cli.common import err, one_line_errors, plan_from
from opsplan.cli.language import help_text
from opsplan.i18n import t

if TYPE_CHECKING:  # annotations only: --help stays light
    from opsplan.plan.models import Plan


FIRST_ADMIN = "opsplan user add NAME --role admin"


def _has_users(plan: Plan) -> bool:
    from opsplan.serve.bind_rule import plan_has_users

    try:
        return plan_has_users(plan)
    except Exception:  # noqa: BLE001 - an unreadable state DB is reported by serve itself; no hint then
        return True


def register(app: typer.Typer) -> None:
    @app.command(help=help_text("help.cmd.serve"))
    def serve(ctx: typer.Context,
              host: str = typer.Option(None, "--host", help=help_text("help.serve.bind")),
              port: int = typer.Option(None, "--port", help=help_text("help.serve.port")),
              ) -> None:
        """Collect on the plan's interval, keep the metrics store, serve /metrics, the API and the status page."""
        from opsplan.serve.server import serve as run

        plan = plan_from(ctx)  # an address other than loopback: serve/bind_rule.py refuses it without TLS

        def announce(url: str) -> None:
            print(t("serve.started", plan.language, url=url), flush=True)
            if not _has_users(plan):  # the console asks for a login: say how to make the first one
                print(t("serve.first_admin", plan.language, command=FIRST_ADMIN), flush=True)

        def warn(reason: str) -> None:
            err.print(t("serve.degraded", plan.language, reason=reason), markup=False)

        with one_line_errors():
            run(plan, host=host, port=port, announce=announce, warn=warn)
        print(t("serve.stopped", plan.language), flush=True)
        sys.stdout.flush()
