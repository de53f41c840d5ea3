"""`opsplan notify test|outbox`: try the channels now, and see what waits in the outbox."""

from __future__ import annotations

import os
import time

import typer

from opsplan import format as fmt
from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.cli.tables import wrapping_table
from opsplan.i18n import t


def register(app: typer.Typer) -> None:
    notify_app = typer.Typer(name="notify", no_args_is_help=True,
                             help=help_text("help.notify"))
    notify_app.command("test", help=help_text("help.cmd.notify_test"))(test_channels)
    notify_app.command("outbox", help=help_text("help.cmd.notify_outbox"))(show_outbox)
    app.add_typer(notify_app, name="notify")


def test_channels(ctx: typer.Context,
                  channel: str = typer.Option(None, "--channel", help=help_text("help.notify.channel")),
                  as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Send a test message to every channel (or one) now; exit 1 if any failed."""
    from opsplan.notify.render import channel_test_message
    from opsplan.notify.service import attempt

    plan = plan_from(ctx)
    lang = plan.language
    channels = plan.notifications.channels
    if not channels:
        fail(t("notify.cli.no_channels", lang))
    if channel is not None:
        channels = [c for c in channels if c.name == channel]
        if not channels:
            known = ", ".join(c.name for c in plan.notifications.channels)
            fail(t("notify.cli.unknown_channel", lang, name=channel, known=known))
    results = []
    for target in channels:
        message = channel_test_message(plan, target.name, time.time())
        result = attempt(target, message.title, message.body, message.notify_type, environ=os.environ)
        results.append({"channel": target.name, "ok": result.ok, "reason": result.reason})
    if as_json:
        print_json(results)
    else:
        for r in results:
            word = t("notify.cli.ok", lang) if r["ok"] else t("notify.cli.failed", lang)
            reason = f": {r['reason']}" if r["reason"] else ""
            out.print(f"{r['channel']}: {word}{reason}", markup=False, highlight=False)
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


def show_outbox(ctx: typer.Context,
                as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """List notifications still pending or given up, with attempts and the next try."""
    from opsplan.notify import outbox
    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db, db.session() as session:
        rows = outbox.unsent(session)
    tz = plan.timezone
    items = [{"id": r.id, "channel": r.channel, "status": r.status, "alert": r.alert, "kind": r.kind,
              "severity": r.severity, "attempts": r.attempts,
              "created": fmt.local_time(r.created_at, tz, zone_name=True),
              "next_try": fmt.local_time(r.next_try_at, tz, zone_name=True) if r.status == outbox.PENDING else None,
              "last_error": r.last_error} for r in rows]
    if as_json:
        print_json(items)
        return
    if not items:
        out.print(t("notify.cli.outbox_empty", plan.language), markup=False)
        return
    # Wraps at any width: the last error is what an operator needs whole.
    cells = [[str(item[k]) if item[k] is not None else "-" for k in
              ("id", "channel", "status", "alert", "kind", "attempts", "next_try", "last_error")] for item in items]
    out.print(wrapping_table(t("notify.cli.columns", plan.language).split("|"), cells, right=(0, 5)))
