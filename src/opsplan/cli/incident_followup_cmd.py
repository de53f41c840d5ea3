"""`opsplan incident task|set|action|postmortem|figures` and `opsplan sla report` (issue 13 items 4,
6, 7): the checklist, the stakeholder notice, the postmortem and the figures, on the state database
like the rest of `opsplan incident`. Every change is audited."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from opsplan import format as fmt
from opsplan.cli import incident_cmd as core
from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json
from opsplan.cli.language import help_text
from opsplan.i18n import t

if TYPE_CHECKING:  # `--help` loads no plan models (tests/unit/test_cli_startup.py)
    from opsplan.plan.models import Plan

def register(group: typer.Typer, app: typer.Typer) -> None:
    group.command("task", help=help_text("help.cmd.incident_task"))(task_command)
    group.command("set", help=help_text("help.cmd.incident_set"))(set_command)
    group.command("postmortem", help=help_text("help.cmd.incident_postmortem"))(postmortem_command)
    group.command("figures", help=help_text("help.cmd.incident_figures"))(figures_command)
    actions = typer.Typer(name="action", no_args_is_help=True, help=help_text("help.cmd.incident_action"))
    actions.command("add", help=help_text("help.cmd.incident_action_add"))(action_add_command)
    actions.command("done", help=help_text("help.cmd.incident_action_done"))(action_done_command)
    actions.command("list", help=help_text("help.cmd.incident_action_list"))(action_list_command)
    group.add_typer(actions, name="action")
    sla = typer.Typer(name="sla", no_args_is_help=True, help=help_text("help.sla"))
    sla.command("report", help=help_text("help.cmd.sla_report"))(sla_report_command)
    app.add_typer(sla, name="sla")


def describe(plan: Plan, entry: dict[str, Any], lang: str) -> str:
    """A timeline entry in `lang`, in `incident show`'s words."""
    from opsplan.incidents.describe import entry_text

    return entry_text(entry, plan, lang)


def _due(text: str, plan: Plan) -> float:
    """YYYY-MM-DD (end of that day in the plan's timezone) or YYYY-MM-DDTHH:MM; else one line."""
    from opsplan.incidents.actions import parse_due
    from opsplan.incidents.errors import IncidentError

    try:
        return parse_due(text, plan.timezone)
    except IncidentError:
        fail(t("incident.error.bad_due", plan.language, value=text))
        raise AssertionError("unreachable") from None


def task_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                 stage: int = typer.Argument(..., metavar="STAGE", help=help_text("help.incident.stage")),
                 task: str = typer.Argument(..., metavar="TASK", help=help_text("help.incident.task")),
                 done: bool = typer.Option(False, "--done", help=help_text("help.incident.task_done")),
                 note: str = typer.Option("", "--note", help=help_text("help.incident.task_note")),
                 evidence: str = typer.Option("", "--evidence", help=help_text("help.incident.evidence")),
                 by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Check a task of a stage's checklist (the third task of stage 1 notifies the stakeholders)."""
    from opsplan.incidents import checklist, records, stakeholders
    from opsplan.incidents.records import row_or_fail

    plan = plan_from(ctx)
    lang, who, now = plan.language, core._who(by), core._clock()
    with core._incidents(plan) as incidents:
        ref = checklist.find_task(plan, stage, task)
        if not done:
            fail(t("incident.error.task_needs_done", lang))
        sent = None
        with incidents.db.session() as session:
            checklist.check_task(session, incident_id, ref, by=who, now=now, note=note, evidence=evidence)
            if (ref.stage, ref.task) == checklist.NOTIFY_TASK:
                impact = checklist.fields(records.timeline(session, incident_id)).get("impact", "")
                sent = stakeholders.queue_notice(session, plan, row_or_fail(session, incident_id), impact=impact,
                                                 by=who, now=now)
        core._audit(incidents, who, "incident.task", incident_id, now, stage=ref.stage, task=ref.task, note=note,
                    evidence=evidence)
        name = plan.incidents.stages[ref.stage - 1].tasks[ref.task - 1].get(lang)
        said = t("incident.task_checked", lang, id=incident_id, stage=ref.stage, task=ref.task, name=name)
        if sent:
            said += "\n" + t("incident.notice_queued", lang, channel=", ".join(sent["channels"]),
                             time=core._when(sent["next_update"], plan))
        core._say_changed(plan, incidents, incident_id, as_json, said)


def set_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                impact: str = typer.Option(None, "--impact", help=help_text("help.incident.impact")),
                services: str = typer.Option(None, "--services", help=help_text("help.incident.services")),
                root_cause: str = typer.Option(None, "--root-cause", help=help_text("help.incident.root_cause")),
                fix: str = typer.Option(None, "--fix", help=help_text("help.incident.fix")),
                by: str = typer.Option(None, "--by", help=help_text("help.incident.by")),
                as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Write the impact, the services hit, the root cause and the fix (stages 2 and 3)."""
    from opsplan.incidents import checklist

    plan = plan_from(ctx)
    who, now = core._who(by), core._clock()
    values = {"impact": impact, "services": services, "root_cause": root_cause, "fix": fix}
    with core._incidents(plan) as incidents:
        with incidents.db.session() as session:
            checklist.set_fields(session, incident_id, values, by=who, now=now)
        core._audit(incidents, who, "incident.set", incident_id, now,
                    **{k: v for k, v in values.items() if v is not None})
        core._say_changed(plan, incidents, incident_id, as_json, t("incident.set_done", plan.language, id=incident_id))


def action_add_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                       text: str = typer.Argument(..., metavar="TEXT", help=help_text("help.incident.action_text")),
                       owner: str = typer.Option(..., "--owner", help=help_text("help.incident.owner")),
                       due: str = typer.Option(..., "--due", help=help_text("help.incident.due")),
                       by: str = typer.Option(None, "--by", help=help_text("help.incident.by"))) -> None:
    """Add a follow-up action with its owner and due date."""
    from opsplan.incidents import actions

    plan = plan_from(ctx)
    who, now, when = core._who(by), core._clock(), _due(due, plan)
    with core._incidents(plan) as incidents:
        with incidents.db.session() as session:
            number = actions.add(session, incident_id, text, owner, when, by=who, now=now)
        core._audit(incidents, who, "incident.action_add", incident_id, now, number=number, owner=owner, due=due)
    out.print(t("incident.action_added", plan.language, id=incident_id, number=number, owner=owner,
                time=core._when(when, plan)), markup=False)


def action_done_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                        number: int = typer.Argument(..., metavar="N"),
                        note: str = typer.Option("", "--note", help=help_text("help.incident.task_note")),
                        by: str = typer.Option(None, "--by", help=help_text("help.incident.by"))) -> None:
    """Mark a follow-up action done."""
    from opsplan.incidents import actions

    plan = plan_from(ctx)
    who, now = core._who(by), core._clock()
    with core._incidents(plan) as incidents:
        with incidents.db.session() as session:
            actions.done(session, incident_id, number, by=who, now=now, note=note)
        core._audit(incidents, who, "incident.action_done", incident_id, now, number=number)
    out.print(t("incident.action_marked", plan.language, id=incident_id, number=number), markup=False)


def action_list_command(ctx: typer.Context,
                        incident_id: int = typer.Argument(None, metavar="[ID]"),
                        overdue_only: bool = typer.Option(False, "--overdue", help=help_text("help.incident.overdue")),
                        as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Follow-up actions (of one incident, or all); overdue ones are marked."""
    from opsplan.incidents import actions

    plan = plan_from(ctx)
    lang, now = plan.language, core._clock()
    with core._incidents(plan) as incidents, incidents.db.session() as session:
        found = actions.of(session, incident_id) if incident_id is not None else actions.every(session)
    late = {(a["incident"], a["number"]) for a in actions.overdue(found, now)}
    if overdue_only:
        found = [a for a in found if (a["incident"], a["number"]) in late]
    if as_json:
        print_json({"count": len(found), "overdue": len(late),
                    "actions": [{**a, "overdue": (a["incident"], a["number"]) in late} for a in found]})
        return
    if not found:
        out.print(t("incident.actions.none", lang), markup=False)
        return
    for a in found:
        state = (t("incident.pm.action_done", lang, time=core._when(a["done_at"], plan)) if a["done_at"]
                 else t("incident.pm.action_overdue", lang) if (a["incident"], a["number"]) in late
                 else t("incident.pm.action_open", lang))
        out.print(t("incident.actions.line", lang, id=a["incident"], number=a["number"], text=a["text"],
                    owner=a["owner"], time=core._when(a["due"], plan), state=state), markup=False)


def postmortem_command(ctx: typer.Context, incident_id: int = typer.Argument(..., metavar="ID"),
                       final: bool = typer.Option(False, "--final", help=help_text("help.incident.final")),
                       lang_opt: str = typer.Option(None, "--lang", help=help_text("help.incident.pm_lang")),
                       form: str = typer.Option("md", "--format", help=help_text("help.incident.pm_format")),
                       out_file: Path = typer.Option(None, "--out", help=help_text("help.incident.pm_out")),
                       by: str = typer.Option(None, "--by", help=help_text("help.incident.by"))) -> None:
    """The postmortem: a draft from the timeline, or (--final) the one that is kept and lets it close."""
    from opsplan.incidents import postmortem, postmortem_render

    plan = plan_from(ctx)
    lang = (lang_opt or plan.language).strip().lower()
    if lang not in ("ko", "en"):
        fail(t("incident.error.bad_lang", plan.language, value=lang_opt))
    if form not in ("md", "html"):
        fail(t("incident.error.bad_format", plan.language, value=form))
    who, now = core._who(by), core._clock()
    with core._incidents(plan) as incidents:
        failed = _requests_failed(plan, incidents.get(incident_id), now)
        with incidents.db.session() as session:
            if final:
                found = postmortem.make_final(session, plan, incident_id, by=who, now=now, requests_failed=failed)
            else:
                found = postmortem.final_of(session, incident_id) or postmortem.facts(
                    session, plan, incident_id, now=now, requests_failed=failed)
        if final:
            core._audit(incidents, who, "incident.postmortem_final", incident_id, now)
    render = postmortem_render.markdown if form == "md" else postmortem_render.html_page
    from opsplan.web.incident_evidence import postmortem_evidence

    text = render(found, plan, lang, lambda entry, language: describe(plan, entry, language),
                  postmortem_evidence(found["timeline"], plan))
    if out_file is None:
        out.print(text, markup=False, soft_wrap=True)
        return
    with one_line_errors():
        try:
            out_file.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(t("incident.error.cannot_write", plan.language, path=str(out_file), detail=exc.strerror or str(exc)))
    out.print(t("incident.postmortem_written", plan.language, path=str(out_file)), markup=False)


def _requests_failed(plan: Plan, incident: dict[str, Any], now: float) -> float | None:
    """From the metrics store (read-only: also while `serve` writes it); unknown when it has none."""
    from opsplan.errors import OpsplanError
    from opsplan.incidents.postmortem import failed_requests
    from opsplan.store.reading import open_for_reading

    try:
        store = open_for_reading(plan)
    except OpsplanError:
        return None
    try:
        return failed_requests(store, incident, now)
    finally:
        if store is not None:
            store.close()


def _month(text: str | None, plan: Plan, now: float) -> str:
    import re
    from datetime import datetime

    if text is None:
        return datetime.fromtimestamp(now, fmt.zone(plan.timezone)).strftime("%Y-%m")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        fail(t("incident.error.bad_month", plan.language, value=text))
    return text


def figures_command(ctx: typer.Context,
                    month: str = typer.Option(None, "--month", help=help_text("help.sla.month")),
                    as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """MTTA and MTTR per severity (median, p90), deadline breaches, noisiest alerts, histograms."""
    from opsplan.incidents.figures import figures
    from opsplan.incidents.sla import month_range

    plan = plan_from(ctx)
    lang, now = plan.language, core._clock()
    start, end = month_range(_month(month, plan, now), plan.timezone)
    with core._incidents(plan) as incidents, incidents.db.session() as session:
        found = figures(session, plan, start, end)
    if as_json:
        print_json(found)
        return
    out.print(t("incident.figures.head", lang, start=core._when(start, plan), end=core._when(end, plan),
                count=found["incidents"]), markup=False)
    for name, f in found["by_severity"].items():
        out.print(t("incident.figures.line", lang, severity=core._severity(name, lang), count=f["incidents"],
                    mtta=fmt.duration(f["mtta"]["median"], language=lang),
                    mtta_p90=fmt.duration(f["mtta"]["p90"], language=lang),
                    mttr=fmt.duration(f["mttr"]["median"], language=lang),
                    mttr_p90=fmt.duration(f["mttr"]["p90"], language=lang),
                    ack=f["ack_breaches"], respond=f["respond_breaches"]), markup=False)
    for entry in found["noisiest_alerts"]:
        out.print(t("incident.figures.noisy", lang, alert=entry["alert"], count=entry["incidents"]), markup=False)


def sla_report_command(ctx: typer.Context,
                       month: str = typer.Option(None, "--month", help=help_text("help.sla.month")),
                       as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    """Availability per service for a month against incidents.sla.target, and the error budget used."""
    from opsplan.incidents.sla import report
    from opsplan.store.reading import open_for_reading

    plan = plan_from(ctx)
    lang, now = plan.language, core._clock()
    wanted = _month(month, plan, now)
    with one_line_errors():
        store = open_for_reading(plan)  # read-only: the figures also while `serve` writes the store
    try:
        with core._incidents(plan) as incidents, incidents.db.session() as session:
            found = report(session, store, plan, wanted, now=now)
    finally:
        if store is not None:
            store.close()
    if as_json:
        print_json(found)
        return
    out.print(t("sla.head", lang, month=wanted, target=fmt.percent(found["target"] / 100, precision=2,
                                                                    language=lang)), markup=False)
    for s in found["services"]:
        key = "sla.line_met" if s["met"] else "sla.line_missed"
        out.print(t(key, lang, service=s["service"],
                    availability=fmt.percent(s["availability"], precision=3, language=lang),
                    downtime=fmt.duration(s["downtime"], language=lang),
                    budget=fmt.percent(s["budget_used"], precision=1, language=lang)), markup=False)
