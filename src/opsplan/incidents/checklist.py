"""Each incident's checklist: the plan's stage tasks, checked with who, when, a note and optional
evidence; and the fields set while working on it (impact, services, root cause, fix).

Both live in the incident's append-only timeline (kinds `task_done`, `fields`), not in tables of
their own: the timeline already says who did what when, and the current state is the last entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from opsplan.errors import said
from opsplan.incidents import records
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.records import event, row_or_fail
from opsplan.plan.models import Plan

TASK_DONE, FIELDS = "task_done", "fields"
FIELD_NAMES = ("impact", "services", "root_cause", "fix")
# The seed's stage 1 task that sends the status to the stakeholders (its position in stage 1).
NOTIFY_TASK = (1, 3)


@dataclass(frozen=True)
class TaskRef:
    stage: int
    task: int  # 1-based within the stage


def find_task(plan: Plan, stage: int, task: str) -> TaskRef:
    """A task by its number in the stage or its name (ko or en, any case); else a one-line error."""
    stages = plan.incidents.stages
    if not 1 <= stage <= len(stages):
        raise said(IncidentError, "incident.error.unknown_stage", stage=stage, count=len(stages))
    tasks = stages[stage - 1].tasks
    wanted = task.strip()
    if wanted.isdigit() and 1 <= int(wanted) <= len(tasks):
        return TaskRef(stage, int(wanted))
    for n, name in enumerate(tasks, start=1):
        if wanted.casefold() in (name.ko.casefold(), name.en.casefold()):
            return TaskRef(stage, n)
    known = ", ".join(f"{n} {name.get(plan.language)}" for n, name in enumerate(tasks, start=1))
    raise said(IncidentError, "incident.error.unknown_task", task=task, stage=stage, known=known)


def check_task(session: Session, incident_id: int, ref: TaskRef, *, by: str, now: float, note: str = "",
               evidence: str = "") -> None:
    row_or_fail(session, incident_id)
    event(session, incident_id, TASK_DONE, by, now, stage=ref.stage, task=ref.task, note=note, evidence=evidence)


def done_tasks(timeline: list[dict[str, Any]]) -> dict[tuple[int, int], dict[str, Any]]:
    """(stage, task) -> who checked it, when, the note and evidence (the latest check)."""
    done: dict[tuple[int, int], dict[str, Any]] = {}
    for entry in timeline:
        if entry["kind"] == TASK_DONE:
            data = entry["data"]
            done[(data["stage"], data["task"])] = {"by": entry["actor"], "at": entry["at"],
                                                   "note": data.get("note", ""),
                                                   "evidence": data.get("evidence", "")}
    return done


def checklist(plan: Plan, timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every task of every stage, with its check (or None) and whether the plan requires it."""
    done = done_tasks(timeline)
    required = required_by_stage(plan)
    out = []
    for s, stage in enumerate(plan.incidents.stages, start=1):
        for n, task in enumerate(stage.tasks, start=1):
            out.append({"stage": s, "task": n, "name": {"ko": task.ko, "en": task.en},
                        "required": n in required.get(s, []), "done": done.get((s, n))})
    return out


def required_by_stage(plan: Plan) -> dict[int, list[int]]:
    return {n: tasks for n, tasks in enumerate(plan.incidents.follow_up.required_tasks, start=1)}


def missing_required(plan: Plan, session: Session, incident_id: int, upto_stage: int) -> list[TaskRef]:
    """The required tasks of stages 1..upto_stage not checked yet."""
    done = done_tasks(records.timeline(session, incident_id))
    required = required_by_stage(plan)
    return [TaskRef(s, n) for s in range(1, upto_stage + 1) for n in sorted(required.get(s, []))
            if (s, n) not in done]


def refuse_unfinished(plan: Plan, session: Session, incident_id: int, current: int | None,
                      going_to: int | None) -> None:
    """Moving on from stage `current` (to `going_to`, None: resolving) with a required task of it
    or an earlier stage unchecked is a one-line error naming the first one."""
    if current is None or (going_to is not None and going_to <= current):
        return
    missing = missing_required(plan, session, incident_id, current)
    if missing:
        first = missing[0]
        name = plan.incidents.stages[first.stage - 1].tasks[first.task - 1].get(plan.language)
        raise said(IncidentError, "incident.error.task_required", id=incident_id, stage=first.stage,
                   task=first.task, name=name, count=len(missing))


def set_fields(session: Session, incident_id: int, values: dict[str, str], *, by: str, now: float) -> None:
    given = {k: v for k, v in values.items() if v is not None and k in FIELD_NAMES}
    if not given:
        raise said(IncidentError, "incident.error.no_fields")
    row_or_fail(session, incident_id)
    event(session, incident_id, FIELDS, by, now, **given)


def fields(timeline: list[dict[str, Any]]) -> dict[str, str]:
    """The latest value of each field set on the incident."""
    found: dict[str, str] = {}
    for entry in timeline:
        if entry["kind"] == FIELDS:
            found.update({k: v for k, v in entry["data"].items() if k in FIELD_NAMES})
    return found
