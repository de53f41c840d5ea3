"""Periodic checks (seed §2): the daily, weekly, monthly and quarterly runs and their reports.

The plan check here binds each `checks.*.items[].id` to a registered evaluator
(opsplan/checks/registry.py): an unknown id is one line from `opsplan plan check`. Under serve,
each period is a job on its schedule (`check-daily` ...); a run missed while serve was down is
caught up once at start. The runs read serve's own metrics store (one process holds it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from opsplan.jobs import Job, job_actor
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan
from opsplan.plan.semantic import CheckContext, Problem
from opsplan.stages.part import Stage, StageContext, StagePart

PERIODS = ("daily", "weekly", "monthly", "quarterly")


def build(ctx: StageContext) -> StagePart:
    import time

    from opsplan.checks import runs
    from opsplan.metrics.cached import SERVE_MAX_AGE, watch

    # A run killed with the last process (SIGKILL, power loss) is marked interrupted, not left running:
    # at start, or when this serve takes the plan's lease (a standby leaves the active's run be).
    def recover() -> None:
        runs.recover_interrupted(ctx.state_db, now=time.time())

    if ctx.active.is_active():
        recover()
    collector = runs.CheckRunCollector(ctx.state_db, max_age=SERVE_MAX_AGE)
    jobs = [_job(ctx, period) for period in PERIODS if getattr(ctx.plan.checks, period).items]
    return StagePart(collectors=[collector], jobs=watch(jobs, [collector.reading]), routers=_pages(ctx),
                     on_active=[recover])


def _pages(ctx: StageContext) -> list[Any]:
    """The console's Reports page, when serve has a console with logins."""
    import time

    from opsplan.web.console.frame import Console, NavItem, operator_only
    from opsplan.web.console.reports import reports_router

    console = ctx.get(Console)
    if console is None:
        return []
    console.add_page(NavItem("/reports", 50))
    return [reports_router(console, ctx.state_db, operator_only(console.identity), time.time)]


def _job(ctx: StageContext, period: str) -> Job:
    from opsplan.checks import runs

    def run() -> object:
        store = _store(ctx)
        return runs.run_checks(ctx.plan, ctx.state_db, period, store=store, actor=job_actor(),
                               environ=ctx.environ)

    return Job(name=f"check-{period}", cron=getattr(ctx.plan.checks, period).schedule, run=run,
               last_run=lambda: runs.last_finished(ctx.state_db, period))


def _store(ctx: StageContext) -> Any:
    """serve's metrics store (it provides it to the stages once opened); None outside serve."""
    from opsplan.store import MetricsStore

    return ctx.get(MetricsStore)


def families() -> Mapping[str, MetricSpec]:
    from opsplan.checks.runs import METRICS

    return METRICS


def unknown_items(plan: Plan, context: CheckContext) -> Iterator[Problem]:
    from opsplan.checks.registry import known_ids

    known = known_ids()
    for period in PERIODS:
        for index, item in enumerate(getattr(plan.checks, period).items):
            if item.id is not None and item.id not in known:
                yield Problem.said(("checks", period, "items", index, "id"), "checks.plan.unknown_item",
                                   item=item.id, known=", ".join(sorted(known)) or "-")


STAGE = Stage("checks", build, families=families, plan_checks=(unknown_items,))
