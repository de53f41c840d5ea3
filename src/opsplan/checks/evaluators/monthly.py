"""The monthly check items (seed §2.2 월간): whole-system check, performance optimisation,
capacity planning. Each is registered here and does its work in its own module."""

from __future__ import annotations

from opsplan.checks import capacity, hardware, tuning
from opsplan.checks.model import CheckContext, ItemResult
from opsplan.checks.registry import evaluator


@evaluator("capacity.planning")
def capacity_planning(ctx: CheckContext) -> ItemResult:
    return capacity.evaluate(ctx)


@evaluator("system.whole")
def system_whole(ctx: CheckContext) -> ItemResult:
    return hardware.evaluate(ctx)


@evaluator("performance.optimisation")
def performance_optimisation(ctx: CheckContext) -> ItemResult:
    return tuning.evaluate(ctx)
