"""`opsplan alerts list|ack|silence|unsilence|silences`: straight on the state database, so they
work whether or not `opsplan serve` runs (serve picks acks and silences up on its next cycle)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from opsplan import format as fmt
from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.errors import in_language
from opsplan.i18n import t

if TYPE_CHECKING:  # only for annotations: `--help` and the other commands need neither
    from opsplan.plan.models import Plan
    from opsplan.store.state import StateDB

# An alert's and a silence's state as shown (literal catalogue keys, so the catalogue test sees them).
_STATE_KEY = {"pending": "alerts.state.pending", "firing": "alerts.state.firing",
              "resolved": "alerts.state.resolved"}
_SEVERITY_KEY = {"critical": "alerts.severity.critical", "warning": "alerts.severity.warning"}
_RESOLVED_KEY = {"value": "alerts.resolved.value", "rule removed": "alerts.resolved.rule_removed",
                 "no data": "alerts.resolved.no_data", "resolved upstream": "alerts.resolved.upstream"}
_SILENCE_STATE_KEY = {"active": "alerts.silence_state.active", "pending": "alerts.silence_state.pending",
                      "expired": "alerts.silence_state.expired"}


def register(app: typer.Typer) -> None:
    alerts_app = typer.Typer(name="alerts", no_args_is_help=True,
                             help=help_text("help.alerts"))
    alerts_app.command("list", help=help_text("help.cmd.alerts_list"))(list_command)
    alerts_app.command("ack", help=help_text("help.cmd.alerts_ack"))(ack_command)
    alerts_app.command("silence", help=help_text("help.cmd.alerts_silence"))(silence_command)
    alerts_app.command("unsilence", help=help_text("help.cmd.alerts_unsilence"))(unsilence_command)
    alerts_app.command("silences", help=help_text("help.cmd.alerts_silences"))(silences_command)
    app.add_typer(alerts_app, name="alerts")


@contextmanager
def _state_db(plan: Plan) -> Iterator[StateDB]:
    with one_line_errors(), state_db(plan) as db:
        yield db


def _clock() -> float:
    return time.time()


def _table(header: str, rows: list[list[str]]) -> None:
    # Plain " | " lines, not a boxed table: a fingerprint must never be cut to fit the terminal.
    out.print(" | ".join(header.split("|")), markup=False, highlight=False)
    for row in rows:
        out.print(" | ".join(row), markup=False, highlight=False)


def list_command(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json")),
                 include_resolved: bool = typer.Option(False, "--all", help=help_text("help.alerts.all")),
                 state: str = typer.Option(None, "--state", help=help_text("help.alerts.state")),
                 severity: str = typer.Option(None, "--severity", help=help_text("help.alerts.severity"))) -> None:
    """Alerts grouped by subject: pending and firing (with --all, resolved ones too)."""
    from opsplan.alerts import heartbeat
    from opsplan.alerts.format import subject_from_labels
    from opsplan.alerts.queries import group_by_subject, list_alerts

    plan = plan_from(ctx)
    lang, tz = plan.language, plan.timezone
    now = _clock()
    with _state_db(plan) as db, one_line_errors():
        alerts = list_alerts(db, now, include_resolved=include_resolved, state=state, severity=severity)
        evaluated = heartbeat.last_evaluation(db)
    stale = heartbeat.is_stale(evaluated, now, plan.monitoring.interval)
    groups = group_by_subject(alerts)
    if as_json:
        for alert in alerts:  # UTC seconds stay for scripts; the local time is added beside them
            for key in ("active_since", "started_at", "resolved_at"):
                alert[f"{key}_local"] = fmt.iso_local(alert[key], tz)
            if alert["acknowledged"]:
                alert["acknowledged"]["at_local"] = fmt.iso_local(alert["acknowledged"]["at"], tz)
        print_json({"timezone": tz, "count": len(alerts), "last_evaluated_at": evaluated,
                    "last_evaluated_at_local": fmt.iso_local(evaluated, tz), "stale": stale, "groups": groups})
        return
    _say_how_fresh(evaluated, stale, lang, tz)
    if not alerts:
        out.print(t("alerts.none", lang), markup=False)
        return
    for group in groups:
        subject = subject_from_labels(group["subject"], group["alerts"][0]["labels"], lang,
                                      {g.id: g.name.get(lang) for g in plan.allocation})
        out.print(f"\n[bold]{subject or t('alerts.host', lang)}[/bold]")
        rows = []
        for a in group["alerts"]:
            notes = []
            if a["inhibited"]:
                notes.append(t("alerts.inhibited", lang))
            if a["silenced_by"]:
                notes.append(t("alerts.silenced", lang, ids=",".join(a["silenced_by"])))
            if a["acknowledged"]:
                notes.append(t("alerts.acked", lang, by=a["acknowledged"]["by"],
                               at=fmt.local_time(a["acknowledged"]["at"], tz, zone_name=lang == "ko")))
            if a["state"] == "resolved":
                why = a["resolved_reason"]
                why = t(_RESOLVED_KEY[why], lang) if why in _RESOLVED_KEY else why
                notes.append(f"{fmt.local_time(a['resolved_at'], tz, zone_name=lang == 'ko')} ({why})")
            since = a["started_at"] if a["state"] != "pending" else a["active_since"]
            severity = t(_SEVERITY_KEY[a["severity"]], lang) if a["severity"] in _SEVERITY_KEY else a["severity"]
            rows.append([a["fingerprint"], a["alert"], severity, t(_STATE_KEY[a["state"]], lang),
                         fmt.in_language(a["value_text"], lang) or "-",
                         fmt.in_language(a["threshold_text"], lang) or "-",
                         fmt.local_time(since, tz, zone_name=lang == "ko"),
                         "; ".join(notes)])
        _table(t("alerts.columns", lang), rows)


def _say_how_fresh(evaluated: float | None, stale: bool, lang: str, tz: str) -> None:
    """When serve last evaluated, and a warning when that is too long ago (serve stopped)."""
    when = fmt.local_time(evaluated, tz, zone_name=True)
    if evaluated is None:
        out.print(t("alerts.never_evaluated", lang), markup=False)
    elif stale:
        out.print(t("alerts.stale", lang, time=when), markup=False)
    else:
        out.print(t("alerts.evaluated", lang, time=when), markup=False)


def ack_command(ctx: typer.Context, fingerprint: str = typer.Argument(..., help=help_text("help.alerts.fingerprint")),
                by: str = typer.Option(None, "--by", help=help_text("help.alerts.ack_by")),
                comment: str = typer.Option("", "--comment", help=help_text("help.alerts.ack_comment"))) -> None:
    """Acknowledge a firing alert: it stays listed, its critical repeats stop."""
    from opsplan import audit
    from opsplan.alerts.queries import acknowledge

    plan = plan_from(ctx)
    who = by or os.environ.get("USER") or "operator"
    with _state_db(plan) as db, one_line_errors():
        now = _clock()
        acknowledge(db, fingerprint, by=who, comment=comment, now=now)
        audit.record(db, who, "alert.ack", f"alert {fingerprint}", {"via": "cli", "comment": comment}, at=now)
    out.print(t("alerts.acked_done", plan.language, fingerprint=fingerprint, by=who), markup=False)


def silence_command(ctx: typer.Context,
                    match: list[str] = typer.Option(..., "--match", help=help_text("help.alerts.matcher")),
                    duration: str = typer.Option("2h", "--duration", help=help_text("help.alerts.silence_for")),
                    author: str = typer.Option(None, "--author", help=help_text("help.alerts.author")),
                    comment: str = typer.Option(..., "--comment", help=help_text("help.alerts.silence_comment")),
                    as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Silence matching alerts for a while: they keep their state but send nothing."""
    from opsplan import audit
    from opsplan.alerts.errors import AlertError
    from opsplan.alerts.silences import add_silence, parse_matcher, silence_duration

    plan = plan_from(ctx)
    now = _clock()
    with one_line_errors():
        try:
            matchers = [parse_matcher(m) for m in match]
            seconds = silence_duration(duration)
        except AlertError as exc:
            fail(in_language(exc, plan.language), code=2)
    with _state_db(plan) as db, one_line_errors():
        who = author or os.environ.get("USER") or "operator"
        silence = add_silence(db, matchers, starts_at=now, ends_at=now + seconds, author=who, comment=comment,
                              now=now)
        audit.record(db, who, "silence.add", f"silence {silence.id}",
                     {"via": "cli", "matchers": match, "ends_at": now + seconds, "comment": comment}, at=now)
    if as_json:
        print_json(silence.as_dict(now))
        return
    out.print(t("alerts.silence_added", plan.language, id=silence.id,
                start=fmt.local_time(silence.starts_at, plan.timezone, zone_name=plan.language == "ko"),
                end=fmt.local_time(silence.ends_at, plan.timezone, zone_name=plan.language == "ko")), markup=False)


def unsilence_command(ctx: typer.Context, silence_id: str = typer.Argument(..., metavar="ID")) -> None:
    """End a silence now."""
    from opsplan import audit
    from opsplan.alerts.silences import expire_silence

    plan = plan_from(ctx)
    with _state_db(plan) as db, one_line_errors():
        now = _clock()
        expire_silence(db, silence_id, now)
        audit.record(db, os.environ.get("USER") or "operator", "silence.expire", f"silence {silence_id}",
                     {"via": "cli"}, at=now)
    out.print(t("alerts.silence_expired", plan.language, id=silence_id), markup=False)


def silences_command(ctx: typer.Context,
                     as_json: bool = typer.Option(False, "--json", help=help_text("help.json")),
                     include_expired: bool = typer.Option(False, "--all",
                                                          help=help_text("help.alerts.silences_all"))) -> None:
    """Silences in force or scheduled (with --all, expired ones too)."""
    from opsplan.alerts.silences import load_silences

    plan = plan_from(ctx)
    lang, tz = plan.language, plan.timezone
    now = _clock()
    with _state_db(plan) as db:
        silences = load_silences(db, now, include_expired=include_expired)
    if as_json:
        print_json([{**s.as_dict(now), "starts_at_local": fmt.iso_local(s.starts_at, tz),
                     "ends_at_local": fmt.iso_local(s.ends_at, tz)} for s in silences])
        return
    if not silences:
        out.print(t("alerts.no_silences", lang), markup=False)
        return
    local: Callable[[float], str] = lambda ts: fmt.local_time(ts, tz)  # noqa: E731
    _table(t("alerts.silence_columns", lang),
           [[s.id, " ".join(m.text() for m in s.matchers), local(s.starts_at), local(s.ends_at), s.author,
             s.comment, t(_SILENCE_STATE_KEY[s.state(now)], lang)] for s in silences])
