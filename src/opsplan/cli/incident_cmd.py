"""`opsplan incident list|show|open|ack|stage|note|resolve|close|cancel`: straight on the state
database, so they work whether or not `opsplan serve` runs. Every change is audited."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from opsplan import format as fmt
from opsplan.cli import oncall_cmd
from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.errors import in_language
from opsplan.i18n import t

if TYPE_CHECKING:
    from opsplan.incidents.lifecycle import Incidents
    from opsplan.plan.models import Plan


def register(app: typer.Typer) -> None:
    group = typer.Typer(name="incident", no_args_is_help=True, help=help_text("help.incident"))
    group.command("list", help=help_text("help.cmd.incident_list"))(list_command)
    group.command("show", help=help_text("help.cmd.incident_show"))(show_command)
    group.command("open", help=help_text("help.cmd.incident_open"))(open_command)
    group.command("ack", help=help_text("help.cmd.incident_ack"))(ack_command)
    group.command("stage", help=help_text("help.cmd.incident_stage"))(stage_command)
    group.command("note", help=help_text("help.cmd.incident_note"))(note_command)
    group.command("resolve", help=help_text("help.cmd.incident_resolve"))(resolve_command)
    group.command("close", help=help_text("help.cmd.incident_close"))(close_command)
    group.command("cancel", help=help_text("help.cmd.incident_cancel"))(cancel_command)
    group.command("assign", help=help_text("help.cmd.incident_assign"))(assign_command)
    group.command("severity", help=help_text("help.cmd.incident_severity"))(severity_command)
    group.command("merge", help=help_text("help.cmd.incident_merge"))(merge_command)
    # checklists, postmortems, figures and `opsplan sla` (issue 13 items 4, 6, 7)
    from opsplan.cli import incident_followup_cmd

    incident_followup_cmd.register(group, app)
    oncall_cmd.register_incident(group)  # `incident snooze` (on-call, cli/oncall_cmd.py)
    app.add_typer(group, name="incident")


def _clock() -> float:
    return time.time()


def _who(by: str | None) -> str:
    return by or os.environ.get("USER") or "operator"


@contextmanager
def _incidents(plan: Plan) -> Iterator[Incidents]:
    """The plan's incidents; an incident error is one line in the plan's language (exit 1)."""
    from opsplan.incidents.errors import IncidentError
    from opsplan.incidents.lifecycle import Incidents

    with one_line_errors(), state_db(plan) as db:
        try:
            yield Incidents(plan, db)
        except IncidentError as exc:
            fail(in_language(exc, plan.language))


def _when(ts: float | None, plan: Plan) -> str:
    return fmt.local_time(ts, plan.timezone, zone_name=plan.language == "ko") if ts is not None else "-"


def _severity(name: str, lang: str) -> str:
    from opsplan.incidents.describe import severity_text

    return severity_text(name, lang)


def _status(incident: dict[str, Any], lang: str) -> str:
    from opsplan.incidents.describe import status_text

    return status_text(incident, lang)


def _deadline(incident: dict[str, Any], which: str, plan: Plan) -> str:
    due = _when(incident[f"{which}_due"], plan)
    if incident[f"{which}_breached_at"] is not None:
        return t("incident.deadline.missed", plan.language, time=due)
    met = incident["acknowledged_at"] if which == "ack" else incident["responded_at"]
    return t("incident.deadline.met", plan.language, time=due) if met is not None else due


def _with_local_times(incident: dict[str, Any], tz: str) -> dict[str, Any]:
    """--json: UTC seconds stay for scripts; each time is given in the plan's timezone beside it."""
    for key, value in list(incident.items()):
        if key.endswith(("_at", "_due")) or key == "deadlines_from":
            incident[f"{key}_local"] = fmt.iso_local(value, tz)
    for entry in incident.get("timeline", []):
        entry["at_local"] = fmt.iso_local(entry["at"], tz)
    return incident


def _say_changed(plan: Plan, incidents: Incidents, incident_id: int, as_json: bool, said: str) -> None:
    """After a change: the incident as it is now (--json), else one line saying what was done."""
    if as_json:
        print_json(_with_local_times(incidents.get(incident_id), plan.timezone))
    else:
        out.print(said, markup=False)


def _audit(incidents: Incidents, who: str, action: str, incident_id: int, now: float, **details: Any) -> None:
    from opsplan import audit

    audit.record(incidents.db, who, action, f"incident {incident_id}", {"via": "cli", **details}, at=now)


def list_command(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json")),
                 include_done: bool = typer.Option(False, "--all", help=help_text("help.incident.all"))) -> None:
    """Open incidents, newest first (with --all, resolved and closed ones too)."""
    plan = plan_from(ctx)
    lang = plan.language
    with _incidents(plan) as incidents:
        found = incidents.list(include_done=include_done)
    if as_json:
        print_json({"timezone": plan.timezone, "count": len(found),
                    "incidents": [_with_local_times(i, plan.timezone) for i in found]})
        return
    if not found:
        out.print(t("incident.none", lang), markup=False)
        return
    out.print(" | ".join(t("incident.columns", lang).split("|")), markup=False)
    for i in found:
        row = [str(i["id"]), _severity(i["severity"], lang), _status(i, lang), i["title"][lang],
               _when(i["opened_at"], plan), _deadline(i, "ack", plan), _deadline(i, "respond", plan)]
        out.print(" | ".join(row), markup=False)


def show_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """One incident: its deadlines, its alerts and its timeline."""
    plan = plan_from(ctx)
    lang = plan.language
    with _incidents(plan) as incidents:
        shown = incidents.get(incident_id)
    if as_json:
        print_json(_with_local_times(shown, plan.timezone))
        return
    out.print(t("incident.show.title", lang, id=shown["id"], title=shown["title"][lang]), markup=False)
    out.print(t("incident.show.state", lang, severity=_severity(shown["severity"], lang),
                status=_status(shown, lang)), markup=False)
    out.print(t("incident.show.opened", lang, time=_when(shown["opened_at"], plan), by=shown["opened_by"]),
              markup=False)
    if shown["deadlines_from"] != shown["opened_at"]:
        out.print(t("incident.show.counted_from", lang, time=_when(shown["deadlines_from"], plan)), markup=False)
    out.print(t("incident.show.deadlines", lang, ack=_deadline(shown, "ack", plan),
                respond=_deadline(shown, "respond", plan)), markup=False)
    out.print(t("incident.show.timeline", lang), markup=False)
    for entry in shown["timeline"]:
        out.print(f"  {_when(entry['at'], plan)}  {_event_text(entry, plan)} ({entry['actor']})", markup=False)
        if entry["kind"] == "evidence":  # what was captured when it opened (issue 13 item 5)
            from opsplan.incidents.evidence_text import evidence_lines

            for line in evidence_lines(entry["data"], plan):
                out.print(f"  {line}", markup=False)


def _event_text(entry: dict[str, Any], plan: Plan) -> str:
    """A timeline entry in the plan's language (incidents/describe.py: the pages say it the same way)."""
    from opsplan.incidents.describe import entry_text

    return entry_text(entry, plan, plan.language)


def open_command(ctx: typer.Context,
                 severity: str = typer.Option(..., "--severity", help=help_text("help.incident.severity")),
                 title: str = typer.Option(..., "--title", help=help_text("help.incident.title")),
                 description: str = typer.Option("", "--description", help=help_text("help.incident.description")),
                 by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Open an incident by hand (a security incident, a data leak a person reported)."""
    from opsplan.plan.models import Text

    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incident_id = incidents.open(severity.strip().lower(), Text(ko=title, en=title), by=who, now=now,
                                     description=description)
        _audit(incidents, who, "incident.open", incident_id, now, severity=severity, title=title)
        shown = incidents.get(incident_id)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.opened_done", plan.language, id=incident_id,
                       severity=_severity(shown["severity"], plan.language), time=_when(shown["ack_due"], plan)))


def ack_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Acknowledge an incident: someone has it."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incidents.acknowledge(incident_id, by=who, now=now)
        _audit(incidents, who, "incident.ack", incident_id, now)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.acked_done", plan.language, id=incident_id, by=who))


def stage_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                  stage: int = typer.Argument(..., metavar="STAGE", help=help_text("help.incident.stage")),
                  by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                  as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Move an incident to a stage of the plan's recovery process (1: initial response ...)."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incidents.enter_stage(incident_id, stage, by=who, now=now)
        _audit(incidents, who, "incident.stage", incident_id, now, stage=stage)
        name = plan.incidents.stages[stage - 1].name.get(plan.language)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.stage_done", plan.language, id=incident_id, stage=stage, name=name))


def note_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                 text: str = typer.Argument(..., metavar="TEXT", help=help_text("help.incident.note_text")),
                 by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Add a note to an incident's timeline."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incidents.note(incident_id, text, by=who, now=now)
        _audit(incidents, who, "incident.note", incident_id, now, text=text)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.noted_done", plan.language, id=incident_id))


def resolve_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                    note: str = typer.Option("", "--note", help=help_text("help.incident.resolve_note")),
                    by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                    as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Resolve an incident: service is back (a re-fire soon after reopens it)."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incidents.resolve(incident_id, by=who, now=now, note=note)
        _audit(incidents, who, "incident.resolve", incident_id, now, note=note)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.resolved_done", plan.language, id=incident_id))


def close_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                  by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                  as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Close a resolved incident: nothing more to do."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incidents.close(incident_id, by=who, now=now)
        _audit(incidents, who, "incident.close", incident_id, now)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.closed_done", plan.language, id=incident_id))


def cancel_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                   reason: str = typer.Option(..., "--reason", help=help_text("help.incident.reason")),
                   by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                   as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Cancel an incident that was a false positive."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incidents.cancel(incident_id, by=who, now=now, reason=reason)
        _audit(incidents, who, "incident.cancel", incident_id, now, reason=reason)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.cancelled_done", plan.language, id=incident_id))


def assign_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                   person: str = typer.Argument(..., metavar="PERSON", help=help_text("help.incident.person")),
                   by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                   as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Give an open incident an owner (one of the plan's on-call people)."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incidents.assign(incident_id, person, by=who, now=now)
        _audit(incidents, who, "incident.assign", incident_id, now, person=person)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.assigned_done", plan.language, id=incident_id, person=person.strip()))


def severity_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                     severity: str = typer.Argument(..., metavar="SEVERITY", help=help_text("help.incident.severity")),
                     reason: str = typer.Option("", "--reason", help=help_text("help.incident.severity_reason")),
                     by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                     as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Re-grade an open incident (critical, major, minor); its unmet deadlines follow."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    wanted = severity.strip().lower()
    with _incidents(plan) as incidents:
        incidents.change_severity(incident_id, wanted, by=who, now=now, reason=reason)
        _audit(incidents, who, "incident.severity", incident_id, now, severity=wanted, reason=reason)
        shown = incidents.get(incident_id)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.severity_done", plan.language, id=incident_id,
                       severity=_severity(wanted, plan.language), time=_when(shown["ack_due"], plan)))


def merge_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                  into: int = typer.Option(..., "--into", metavar="ID", help=help_text("help.incident.merge_into")),
                  by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                  as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Merge an incident into another that is the same trouble: its alerts move there."""
    plan = plan_from(ctx)
    who, now = _who(by), _clock()
    with _incidents(plan) as incidents:
        incidents.merge(incident_id, into, by=who, now=now)
        _audit(incidents, who, "incident.merge", incident_id, now, into=into)
        _say_changed(plan, incidents, incident_id, as_json,
                     t("incident.merged_done", plan.language, id=incident_id, into=into))
