"""Periodic checks (seed §2): the daily, weekly, monthly and quarterly runs and their reports.

The plan check here binds each `checks.*.items[].id` to a registered evaluator
(opsplan/checks/registry.py): an unknown id is one line from `opsplan plan check`.
"""

from __future__ import annotations

from collections.abc import Iterator

from opsplan.plan.models import Plan
from opsplan.plan.semantic import CheckContext, Problem
from opsplan.stages.part import Stage, StageContext, StagePart

PERIODS = ("daily", "weekly", "monthly", "quarterly")


def build(ctx: StageContext) -> StagePart:
    return StagePart()


def unknown_items(plan: Plan, context: CheckContext) -> Iterator[Problem]:
    from opsplan.checks.registry import known_ids

    known = known_ids()
    for period in PERIODS:
        for index, item in enumerate(getattr(plan.checks, period).items):
            if item.id is not None and item.id not in known:
                yield Problem.said(("checks", period, "items", index, "id"), "checks.plan.unknown_item",
                                   item=item.id, known=", ".join(sorted(known)) or "-")


STAGE = Stage("checks", build, plan_checks=(unknown_items,))
