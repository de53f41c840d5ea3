"""`opsplan oncall show|override|ical`, `opsplan maintenance add|list` and `opsplan incident snooze`:
straight on the state database, whether or not `opsplan serve` runs. Every change is audited."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer

from opsplan import format as fmt
from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.errors import in_language
from opsplan.i18n import t

if TYPE_CHECKING:
    from opsplan.plan.models import Plan
    from opsplan.store.state import StateDB

TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def register(app: typer.Typer) -> None:
    group = typer.Typer(name="oncall", no_args_is_help=True, help=help_text("help.oncall"))
    group.command("show", help=help_text("help.cmd.oncall_show"))(show_command)
    group.command("override", help=help_text("help.cmd.oncall_override"))(override_command)
    group.command("ical", help=help_text("help.cmd.oncall_ical"))(ical_command)
    app.add_typer(group, name="oncall")
    windows = typer.Typer(name="maintenance", no_args_is_help=True, help=help_text("help.maintenance"))
    windows.command("add", help=help_text("help.cmd.maintenance_add"))(maintenance_add_command)
    windows.command("list", help=help_text("help.cmd.maintenance_list"))(maintenance_list_command)
    app.add_typer(windows, name="maintenance")


def register_incident(group: typer.Typer) -> None:
    """`opsplan incident snooze`, in the incident group."""
    group.command("snooze", help=help_text("help.cmd.incident_snooze"))(snooze_command)


def _clock() -> float:
    return time.time()


def _who(by: str | None) -> str:
    return by or os.environ.get("USER") or "operator"


def _when(ts: float | None, plan: Plan) -> str:
    return fmt.local_time(ts, plan.timezone, zone_name=True) if ts is not None else "-"


def parse_time(text: str, plan: Plan) -> float:
    """'2026-12-01 09:00' in the plan's timezone (or ISO 8601 with an offset) -> UTC seconds."""
    zone = ZoneInfo(plan.timezone)
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=zone).timestamp()
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(t("oncall.error.bad_time", plan.language, text=text))
        raise AssertionError from None  # fail() exits
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).timestamp()


def _range(start: str, end: str, plan: Plan) -> tuple[float, float]:
    begin, finish = parse_time(start, plan), parse_time(end, plan)
    if finish <= begin:
        fail(t("oncall.error.bad_range", plan.language))
    return begin, finish


@contextmanager
def _db(plan: Plan) -> Iterator[StateDB]:
    from opsplan.incidents.errors import IncidentError

    with one_line_errors(), state_db(plan) as db:
        try:
            yield db
        except IncidentError as exc:
            fail(in_language(exc, plan.language))


def _audit(db: StateDB, who: str, action: str, target: str, now: float, **details: Any) -> None:
    from opsplan import audit

    audit.record(db, who, action, target, {"via": "cli", **details}, at=now)


# --- oncall ----------------------------------------------------------------------------------------

def show_command(ctx: typer.Context,
                 when: str = typer.Option(None, "--at", help=help_text("help.oncall.at")),
                 days: int = typer.Option(14, "--days", min=0, max=366, help=help_text("help.oncall.days")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Who is on call now (or at --at): primary, secondary, the shift, an override in force, and the
    overrides of the next --days days (a swap agreed for next week shows before it happens)."""
    from opsplan.oncall.rotation import Rotation, upcoming_overrides

    plan = plan_from(ctx)
    lang = plan.language
    moment = parse_time(when, plan) if when else _clock()
    with _db(plan) as db, db.session() as session:
        shift = Rotation(plan).at(moment, session)
        upcoming = upcoming_overrides(session, moment, moment + days * 86400)
    if as_json:
        print_json({"at": moment, "at_local": fmt.iso_local(moment, plan.timezone), "primary": shift.primary,
                    "secondary": shift.secondary, "override": shift.override, "shift_start": shift.start,
                    "shift_end": shift.end, "shift_start_local": fmt.iso_local(shift.start, plan.timezone),
                    "shift_end_local": fmt.iso_local(shift.end, plan.timezone), "days": days,
                    "upcoming_overrides": [{**o, "start_local": fmt.iso_local(o["start"], plan.timezone),
                                            "end_local": fmt.iso_local(o["end"], plan.timezone)}
                                           for o in upcoming]})
        return
    if shift.primary is None:
        out.print(t("oncall.show.nobody", lang), markup=False)
        return
    lines = [t("oncall.show.heading", lang, time=_when(moment, plan)),
             t("oncall.show.primary", lang, name=shift.primary),
             t("oncall.show.secondary", lang, name=shift.secondary or "-"),
             t("oncall.show.shift", lang, start=_when(shift.start, plan), end=_when(shift.end, plan))]
    if shift.override:
        lines.append(t("oncall.show.override", lang, name=shift.override))
    if upcoming:
        lines.append(t("oncall.show.upcoming", lang, days=days))
        lines += [t("oncall.show.upcoming_entry", lang, name=o["person"], start=_when(o["start"], plan),
                    end=_when(o["end"], plan), by=o["created_by"]) for o in upcoming]
    else:
        lines.append(t("oncall.show.upcoming_none", lang, days=days))
    out.print("\n".join(lines), markup=False)


def override_command(ctx: typer.Context, person: str = typer.Argument(..., metavar="PERSON"),
                     start: str = typer.Option(..., "--from", help=help_text("help.oncall.from")),
                     end: str = typer.Option(..., "--to", help=help_text("help.oncall.to")),
                     by: str = typer.Option(None, "--by", help=help_text("help.incident.by"))) -> None:
    """PERSON is the primary from --from to --to (a holiday, a swap); the newest override wins."""
    from opsplan.oncall.tables import OverrideRow

    plan = plan_from(ctx)
    if plan.oncall.person(person) is None:
        fail(t("oncall.error.unknown_person", plan.language, name=person))
    begin, finish = _range(start, end, plan)
    who, now = _who(by), _clock()
    with _db(plan) as db:
        with db.session() as session:
            row = OverrideRow(person=person, start=begin, end=finish, created_by=who, created_at=now)
            session.add(row)
            session.flush()
            override_id = row.id
        _audit(db, who, "oncall.override", f"override {override_id}", now, person=person, start=begin, end=finish)
    out.print(t("oncall.override.added", plan.language, id=override_id, name=person, start=_when(begin, plan),
                end=_when(finish, plan)), markup=False)


def ical_command(ctx: typer.Context,
                 weeks: int = typer.Option(12, "--weeks", min=1, max=104, help=help_text("help.oncall.weeks"))) -> None:
    """The rotation from this week on, as an iCalendar file on standard output."""
    from opsplan.oncall.ical import calendar
    from opsplan.oncall.rotation import Rotation

    plan = plan_from(ctx)
    now = _clock()
    text = calendar(Rotation(plan).shifts(now, weeks), host=plan.server.name, language=plan.language, now=now)
    typer.echo(text.encode("utf-8"), nl=False)  # bytes: the CRLF line ends RFC 5545 asks for, unchanged


# --- maintenance windows -------------------------------------------------------------------------

def maintenance_add_command(ctx: typer.Context,
                            subjects: list[str] = typer.Option(None, "--subject",
                                                               help=help_text("help.maintenance.subject")),
                            start: str = typer.Option(..., "--from", help=help_text("help.oncall.from")),
                            end: str = typer.Option(..., "--to", help=help_text("help.oncall.to")),
                            reason: str = typer.Option("", "--reason", help=help_text("help.maintenance.reason")),
                            by: str = typer.Option(None, "--by", help=help_text("help.incident.by"))) -> None:
    """Hold paging for incidents about these subjects from --from to --to (noted on their timeline)."""
    from opsplan.oncall.tables import MaintenanceRow

    plan = plan_from(ctx)
    names = [s.strip() for s in subjects or [] if s.strip()]
    if not names:
        fail(t("oncall.error.no_subject", plan.language))
    begin, finish = _range(start, end, plan)
    who, now = _who(by), _clock()
    with _db(plan) as db:
        with db.session() as session:
            row = MaintenanceRow(subjects=json.dumps(names, ensure_ascii=False), start=begin, end=finish,
                                 reason=reason, created_by=who, created_at=now)
            session.add(row)
            session.flush()
            window_id = row.id
        _audit(db, who, "maintenance.add", f"maintenance {window_id}", now, subjects=names, start=begin,
               end=finish, reason=reason)
    out.print(t("oncall.maintenance.added", plan.language, id=window_id, start=_when(begin, plan),
                end=_when(finish, plan), names=", ".join(names)), markup=False)


def maintenance_list_command(ctx: typer.Context,
                             as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Windows in force or to come: the plan's and those added by command."""
    from sqlalchemy import select

    from opsplan.oncall.tables import MaintenanceRow

    plan = plan_from(ctx)
    now = _clock()
    zone = ZoneInfo(plan.timezone)
    found: list[dict[str, Any]] = []
    for i, window in enumerate(plan.oncall.maintenance):
        begin = (window.start if window.start.tzinfo else window.start.replace(tzinfo=zone)).timestamp()
        finish = (window.end if window.end.tzinfo else window.end.replace(tzinfo=zone)).timestamp()
        if finish > now:
            found.append({"id": f"plan:{i + 1}", "subjects": window.subjects, "start": begin, "end": finish,
                          "reason": window.reason})
    with _db(plan) as db, db.session() as session:
        query = select(MaintenanceRow).where(MaintenanceRow.end > now).order_by(MaintenanceRow.start)
        for row in session.scalars(query):
            found.append({"id": row.id, "subjects": json.loads(row.subjects), "start": row.start, "end": row.end,
                          "reason": row.reason})
    if as_json:
        print_json({"timezone": plan.timezone, "windows": found})
        return
    if not found:
        out.print(t("oncall.maintenance.none", plan.language), markup=False)
    for w in found:
        out.print(t("oncall.maintenance.row", plan.language, id=w["id"], start=_when(w["start"], plan),
                    end=_when(w["end"], plan), names=", ".join(w["subjects"]), reason=w["reason"]), markup=False)


# --- incident snooze -----------------------------------------------------------------------------

def snooze_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                   duration: str = typer.Argument(..., metavar="DURATION"),
                   by: str = typer.Option(None, "--by", help=help_text("help.incident.by"))) -> None:
    """No re-page of acknowledged incident ID for DURATION (2h, 30m)."""
    from opsplan.oncall.paging import snooze
    from opsplan.plan.types import parse_duration

    plan = plan_from(ctx)
    try:
        seconds = parse_duration(duration)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        fail(t("oncall.error.bad_duration", plan.language, text=duration))
    who, now = _who(by), _clock()
    with _db(plan) as db:
        snooze(db, incident_id, now + seconds, by=who, now=now)
        _audit(db, who, "incident.snooze", f"incident {incident_id}", now, until=now + seconds)
    out.print(t("oncall.snoozed", plan.language, id=incident_id, until=_when(now + seconds, plan)), markup=False)
