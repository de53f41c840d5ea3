"""`opsplan audit list|verify`: read the audit log and walk its hash chain (exit 1 at a broken entry)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import typer

from opsplan import format as fmt
from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.i18n import t

audit_app = typer.Typer(no_args_is_help=True, help=help_text("help.audit"))

_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}

# Actions and outcomes as shown (literal catalogue keys); in Korean with the stored id after it,
# to search with (KOREAN.md rule 5). One not listed (a later part's) is shown as stored.
_ACTION_KEY = {"alert.ack": "audit.action.alert_ack", "silence.add": "audit.action.silence_add",
               "silence.expire": "audit.action.silence_expire", "backup.start": "audit.action.backup_start",
               "run": "audit.action.run", "resume": "audit.action.resume", "confirm": "audit.action.confirm",
               "dry_run": "audit.action.dry_run"}
_OUTCOME_KEY = {"started": "audit.outcome.started", "yes": "audit.outcome.yes", "no": "audit.outcome.no",
                "ok": "runbook.status.ok", "failed": "runbook.status.failed",
                "rolled_back": "runbook.status.rolled_back", "dry_run": "runbook.status.dry_run",
                "refused": "runbook.status.refused"}


def _with_id(text: str, value: str, lang: str) -> str:
    return f"{text} ({value})" if lang == "ko" else text


def _action(action: str, lang: str) -> str:
    return _with_id(t(_ACTION_KEY[action], lang), action, lang) if action in _ACTION_KEY else action


def _outcome(outcome: str | None, lang: str) -> str:
    if not outcome:
        return "-"
    return _with_id(t(_OUTCOME_KEY[outcome], lang), outcome, lang) if outcome in _OUTCOME_KEY else outcome


# How each broken link is said (literal catalogue keys, by opsplan.audit.log's reasons).
_BROKEN_KEY = {"changed": "audit.verify.changed", "link": "audit.verify.link", "tail": "audit.verify.tail"}


def register(app: typer.Typer) -> None:
    """Add the `audit` group."""
    app.add_typer(audit_app, name="audit")


def since_time(text: str, now: float, tz: str) -> float | None:
    """`24h`, `7d` (back from now), or a date or time in the plan's timezone; None if neither."""
    match = _DURATION.match(text.strip())
    if match:
        return now - int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=fmt.zone(tz))
    return when.timestamp()


@audit_app.command("list", help=help_text("help.cmd.audit_list"))
def list_command(ctx: typer.Context,
                 since: str = typer.Option(None, "--since", help=help_text("help.audit.since")),
                 limit: int = typer.Option(100, "--limit", min=1, help=help_text("help.audit.limit")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    """The newest entries first: when, who, what, on which target, with which outcome."""
    import time

    from opsplan import audit

    plan = plan_from(ctx)
    lang, tz = plan.language, plan.timezone
    start = None
    if since is not None:
        start = since_time(since, time.time(), tz)
        if start is None:
            fail(t("audit.since_bad", lang, value=since), code=2)
    with one_line_errors(), state_db(plan) as db:
        found = audit.entries(db, since=start, limit=limit)
    if as_json:
        print_json({"timezone": tz, "count": len(found),
                    "entries": [{**e, "at": fmt.iso_local(e["at"], tz)} for e in found]})
        return
    if not found:
        out.print(t("audit.list.empty", lang), markup=False)
        return
    out.print(" | ".join(t("audit.list.columns", lang).split("|")), markup=False, highlight=False, style="bold")
    for e in found:
        out.print(" | ".join(_row(e, tz, lang)), markup=False, highlight=False)


def _row(e: dict[str, Any], tz: str, lang: str) -> list[str]:
    return [str(e["id"]), fmt.local_time(e["at"], tz, zone_name=lang == "ko"), e["actor"],
            _action(e["action"], lang), e["target"] or "-", _outcome(e["outcome"], lang)]


@audit_app.command("verify", help=help_text("help.cmd.audit_verify"))
def verify_command(ctx: typer.Context,
                   as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    """Walk the hash chain from the first entry; name the first entry that does not hold (exit 1)."""
    from opsplan import audit

    plan = plan_from(ctx)
    lang = plan.language
    with one_line_errors(), state_db(plan) as db:
        result = audit.verify(db)
    broken = result.broken
    if as_json:
        print_json({"ok": result.ok, "entries": result.entries,
                    "broken": None if broken is None else {"entry_id": broken.entry_id, "reason": broken.reason}})
    elif broken is None:
        out.print(t("audit.verify.ok", lang, count=result.entries), markup=False)
    else:
        out.print(t(_BROKEN_KEY[broken.reason], lang, id=broken.entry_id, count=result.entries), markup=False,
                  highlight=False, style="red")
    raise typer.Exit(0 if result.ok else 1)
