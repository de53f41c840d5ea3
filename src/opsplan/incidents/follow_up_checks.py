"""`plan check` for incidents.follow_up: stakeholder channels the plan defines, required task
numbers its stages have (a typo would otherwise gate a stage on a task no one can check)."""

from __future__ import annotations

from collections.abc import Iterator

from opsplan.plan.models import Plan
from opsplan.plan.semantic import CheckContext, Problem


def follow_up_problems(plan: Plan, context: CheckContext) -> Iterator[Problem]:
    follow_up = plan.incidents.follow_up
    known = [c.name for c in plan.notifications.channels]
    for i, name in enumerate(follow_up.stakeholders):
        if name not in known:
            yield Problem.said(("incidents", "follow_up", "stakeholders", i), "incident.plan.unknown_stakeholder",
                               channel=name, known=", ".join(known) or "-")
    stages = plan.incidents.stages
    if len(follow_up.required_tasks) > len(stages):
        yield Problem.said(("incidents", "follow_up", "required_tasks"), "incident.plan.required_stages",
                           count=len(stages))
    for s, tasks in enumerate(follow_up.required_tasks[:len(stages)]):
        for j, task in enumerate(tasks):
            if task > len(stages[s].tasks):
                yield Problem.said(("incidents", "follow_up", "required_tasks", s, j), "incident.plan.required_task",
                                   stage=s + 1, task=task, count=len(stages[s].tasks))
