"""Check item ids bound to evaluators, as collectors are registered: `@evaluator("disk.space")`.

A plan item with an id must name a registered evaluator (`opsplan plan check` says so in one
line otherwise); an item without an id is a manual checklist item a person ticks with a note.
An evaluator that raises is reported as not-run with the error as its reason: a bug in one check
never hides the others, and never reads as a pass.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from opsplan.checks.model import CheckContext, ItemResult, Line, not_run

log = logging.getLogger(__name__)

Evaluator = Callable[[CheckContext], ItemResult]
EVALUATORS: dict[str, Evaluator] = {}
# The ids the seed's items carry (plan/models.py `_daily` ...): known without importing the
# evaluators, so that reading a plan stays light. Each has its evaluator in one of MODULES.
SEED_ITEMS = (
    "system.usage", "gpu.status", "network.status", "api.response_time", "api.error_rate", "users.sessions",
    "mariadb.status", "backup.status", "disk.space",  # daily, §2.1
    "logs.analysis", "performance.trend", "security.patches",  # weekly, §2.2
    "system.whole", "performance.optimisation", "capacity.planning",  # monthly, §2.2
    "updates.major", "security.audit", "backup.recovery_test",  # quarterly, §2.2
)
# The modules that register evaluators, imported on first use (they may load numpy, drain3 ...).
MODULES = (
    "opsplan.checks.evaluators.daily",
    "opsplan.checks.evaluators.weekly",
    "opsplan.checks.evaluators.monthly",
    "opsplan.checks.evaluators.quarterly",
)


def evaluator(item_id: str) -> Callable[[Evaluator], Evaluator]:
    def register(function: Evaluator) -> Evaluator:
        if item_id in EVALUATORS:
            raise ValueError(f"check item {item_id!r} has two evaluators")
        EVALUATORS[item_id] = function
        return function

    return register


def load_all() -> dict[str, Evaluator]:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a missing dependency inside the module is a real error
                raise
    return EVALUATORS


def known_ids() -> set[str]:
    return set(SEED_ITEMS) | set(EVALUATORS)


def evaluate(item_id: str, context: CheckContext) -> ItemResult:
    found = load_all().get(item_id)
    if found is None:
        return not_run(item_id, Line("checks.reason.no_evaluator", {"item": item_id}))
    try:
        return found(context)
    except Exception as exc:  # noqa: BLE001 - one check's bug must not stop the run or pass silently
        log.exception("check %s failed to evaluate", item_id)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return not_run(item_id, Line("checks.reason.evaluator_error", {"error": first[:300]}))
