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
    # The "run now" buttons: one per period that has a job (a period without items has none).
    periods = [period for period in PERIODS if getattr(ctx.plan.checks, period).items]
    return [reports_router(console, ctx.state_db, operator_only(console.identity), time.time,
                           jobs=ctx.job_control, periods=periods)]


def _job(ctx: StageContext, period: str) -> Job:
    from opsplan.checks import runs

    def run() -> object:
        import time

        from opsplan.checks.after_run import follow_up
        from opsplan.incidents.lifecycle import Incidents
        from opsplan.notify.service import Notifier

        store = _store(ctx)
        outcome = runs.run_checks(ctx.plan, ctx.state_db, period, store=store, actor=job_actor(),
                                  environ=ctx.environ)
        # Its summary to the channels and its failed items' incidents (none without the incidents stage).
        done = follow_up(ctx.plan, ctx.state_db, outcome.run_id, incidents=ctx.get(Incidents), now=time.time())
        notifier = ctx.get(Notifier)
        if done.channels and notifier is not None:
            notifier.wake()  # sent now, not at the notifier's next idle look
        return outcome

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


def follow_up_problems(plan: Plan, context: CheckContext) -> Iterator[Problem]:
    """`checks.notify_channels` must name the plan's channels; `checks.incident_severity` a period or
    an item id of the plan, and a level the plan defines."""
    known = {c.name for c in plan.notifications.channels}
    for index, name in enumerate(plan.checks.notify_channels or []):
        if name not in known:
            yield Problem.said(("checks", "notify_channels", index), "checks.plan.unknown_channel", channel=name,
                               known=", ".join(sorted(known)) or "-")
    items = {item.id for period in PERIODS for item in getattr(plan.checks, period).items if item.id}
    for key, severity in plan.checks.incident_severity.items():
        if key not in PERIODS and key not in items:
            yield Problem.said(("checks", "incident_severity", key), "checks.plan.unknown_severity_key", item=key,
                               known=", ".join([*PERIODS, *sorted(items)]))
        elif severity not in plan.incidents.severities:
            yield Problem.said(("checks", "incident_severity", key), "checks.plan.undefined_severity",
                               severity=severity.capitalize(),
                               known=", ".join(s.capitalize() for s in plan.incidents.severities) or "-")


STAGE = Stage("checks", build, families=families, plan_checks=(unknown_items, follow_up_problems))
