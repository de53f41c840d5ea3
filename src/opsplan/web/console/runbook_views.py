"""The runbook journal as the console shows it: runs, their steps, and what a drill measured.

Read through the journal's own API (runbooks/journal.py) and the drill results table; every value
a person reads is put in words here (status, kind, times in the plan's timezone, durations), so the
templates only lay them out. Params and step data are shown through `masking.mask`: the journal
stores them masked already, and a page must not be the place where that ever slips.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from opsplan import format as fmt
from opsplan.i18n import t
from opsplan.jobs import BY_HAND, SCHEDULE_ACTOR
from opsplan.masking import mask
from opsplan.runbooks.drill.results import DrillResult
from opsplan.runbooks.journal import DO, OK, RUNNING, UNDO, RunbookStepRow, list_runs, show_run
from opsplan.runbooks.names import kind_text, status_text
from opsplan.store.state import StateDB

FINALLY = "finally"
OUTPUT_LINES = 40  # a step's output on the page; the journal keeps up to 4,000 characters

# Literal catalogue keys (the catalogue test reads them): a kind or status not listed is shown as stored.

_FIGURE = {"rto": "console.runbooks.measure.rto", "rpo": "console.runbooks.measure.rpo",
           "service": "console.runbooks.measure.service"}


def _time(ts: float | None, tz: str) -> str:
    return fmt.local_time(ts, tz, zone_name=True)


def run_row(run: dict[str, Any], lang: str, tz: str) -> dict[str, Any]:
    return {
        "id": run["id"], "started_at": run["started_at"], "journal_actor": run["actor"],
        "kind": run["kind"], "kind_text": kind_text(run["kind"], lang), "title": run["title"],
        "actor": run["actor"], "started": _time(run["started_at"], tz), "finished": _time(run["finished_at"], tz),
        "status": run["status"], "status_text": status_text(run["status"], lang),
        "took": fmt.took(run["seconds"], language=lang), "running": run["status"] == RUNNING,
        "failed_step": run["failed_step"], "reason": run["reason"] or "",
    }


def step_row(step: dict[str, Any], lang: str, tz: str) -> dict[str, Any]:
    phase = step["phase"]
    title = step["title"] or step["name"]
    if phase == FINALLY:
        title = t("console.runbooks.phase.finally", lang)
    elif lang != "en" and step["name"] and step["name"] != title and not title.endswith(f"({step['name']})"):
        title = f"{title} ({step['name']})"
    output = (step["output"] or "").splitlines()
    return {
        "number": "–" if phase == FINALLY else step["position"] + 1, "title": title, "name": step["name"],
        "phase": phase, "undo": phase == UNDO, "status": step["status"],
        "status_text": (t("runbook.step_interrupted", lang) if step["status"] == "interrupted"
                        else status_text(step["status"], lang)),
        "started": _time(step["started_at"], tz), "took": fmt.took(step["seconds"], language=lang),
        "output": "\n".join(output[:OUTPUT_LINES]), "data": mask(step["data"] or {}),
    }


def runs(state_db: StateDB, lang: str, tz: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs first, each with how many steps are done; a running one with its steps too."""
    rows = [run_row(run, lang, tz) for run in list_runs(state_db, limit=limit)]
    name_the_asker(rows, lang)
    done = _steps_done(state_db, [row["id"] for row in rows])
    for row in rows:
        row["steps_done"] = t("console.runbooks.steps_done", lang, count=done.get(row["id"], 0))
        row["steps"] = []
        if row["running"]:
            row["steps"] = [step_row(step, lang, tz) for step in show_run(state_db, row["id"])["steps"]]
            current = next((s for s in reversed(row["steps"]) if s["status"] == RUNNING), None)
            row["now_in"] = t("console.runbooks.now_in", lang, step=current["title"]) if current else ""
    return rows


def name_the_asker(rows: list[dict[str, Any]], lang: str) -> None:
    """Who a job's run was for, in words: serve's schedule, or the person who pressed its button
    (the scheduler tells the job: opsplan.jobs.job_actor)."""
    for row in rows:
        actor = str(row["journal_actor"])
        if actor == SCHEDULE_ACTOR:
            row["actor"] = t("console.runbooks.actor.schedule", lang)
        elif actor.endswith(BY_HAND):
            row["actor"] = t("console.runbooks.actor.console", lang, user=actor.removesuffix(BY_HAND))


def _steps_done(state_db: StateDB, run_ids: list[int]) -> dict[int, int]:
    if not run_ids:
        return {}
    with state_db.session() as session:
        found = session.execute(
            select(RunbookStepRow.run_id, func.count()).where(
                RunbookStepRow.run_id.in_(run_ids), RunbookStepRow.phase == DO, RunbookStepRow.status == OK)
            .group_by(RunbookStepRow.run_id)).all()
    return {int(run_id): int(count) for run_id, count in found}


def run_detail(state_db: StateDB, run_id: int, lang: str, tz: str) -> dict[str, Any]:
    """One run (RunbookError "no such run" when there is none) with every step and a drill's figures."""
    run = show_run(state_db, run_id)
    row = run_row(run, lang, tz)
    name_the_asker([row], lang)
    row["arguments"] = json.dumps(mask(run["params"]), ensure_ascii=False, sort_keys=True)
    row["steps"] = [step_row(step, lang, tz) for step in run["steps"]]
    row["measured"] = drill_figures(state_db, run_id, lang)
    return row


def drill_figures(state_db: StateDB, run_id: int, lang: str) -> dict[str, Any] | None:
    """RTO, RPO and time to service a drill run measured, against the plan's targets (None: not a drill)."""
    with state_db.session() as session:
        drill = session.scalars(select(DrillResult).where(DrillResult.run_id == run_id)
                                .order_by(DrillResult.id.desc()).limit(1)).first()
        if drill is None:
            return None
        result = drill.as_dict()

    def figure(key: str, value: float | None, target: float | None) -> dict[str, Any]:
        if value is None:
            verdict, met = t("console.runbooks.measure.none", lang), None
        elif target is None:
            verdict, met = "–", None
        else:
            met = value <= target
            verdict = t("console.runbooks.measure.met" if met else "console.runbooks.measure.missed", lang)
        return {"key": key, "value": fmt.duration(value, language=lang), "target": fmt.duration(target, language=lang),
                "verdict": verdict, "met": met}

    targets = result["targets"]
    figures = [
        figure("rto", result["rto_seconds"], targets["rto_seconds"]),
        figure("rpo", result["rpo_seconds"], targets["rpo_seconds"]),
        figure("service", result["time_to_service"], None),
    ]
    for item in figures:
        item["label"] = t(_FIGURE[item["key"]], lang)
    tables = ""
    if result["tables_checked"] is not None:
        tables = t("console.runbooks.measure.tables", lang, checked=result["tables_checked"],
                   failed=result["tables_failed"] or 0)
    return {"figures": figures, "tables": tables, "status": result["status"]}
