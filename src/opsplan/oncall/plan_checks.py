"""The on-call checks of the plan: a person's channels must be channels of the plan."""

from __future__ import annotations

from collections.abc import Iterator

from opsplan.plan.models import Plan
from opsplan.plan.semantic import CheckContext, Loc, Problem


def oncall_problems(plan: Plan, context: CheckContext) -> Iterator[Problem]:
    known = {c.name for c in plan.notifications.channels}
    for i, person in enumerate(plan.oncall.people):
        loc: Loc = ("oncall", "people", i)
        for name in person.channels:
            if name not in known:
                yield Problem.said(loc, "oncall.problem.unknown_channel", name=person.name, channel=name)
        if not person.channels and not (person.url_env or person.url_file):
            yield Problem.said(loc, "oncall.problem.unreachable", name=person.name)
