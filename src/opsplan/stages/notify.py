"""Notifications: every alert notice through the persistent outbox to the plan's channels."""

from __future__ import annotations

from opsplan.metrics import Cycle
from opsplan.notify import service as notify_service
from opsplan.notify.plan_checks import notification_problems
from opsplan.stages.part import Stage, StageContext, StagePart, Worker


def build(ctx: StageContext) -> StagePart:
    notifier = notify_service.build_notifier(ctx.plan, ctx.state_db, environ=ctx.environ)
    ctx.notices.subscribe(notifier.submit, many=notifier.submit_all)
    ctx.provide(notifier)
    notifier.fence = ctx.active.holds  # only the serve holding the plan's lease claims outbox rows

    def notification_metrics(cycle: Cycle) -> None:
        cycle.samples.extend(notifier.samples())

    return StagePart(on_cycle=[notification_metrics], start=[notifier.warn_unavailable_channels],
                     workers=[Worker("notifier", "opsplan-notify", notifier.run, notifier.request_stop)],
                     stop=[notifier.stop], on_active=[notifier.wake])


STAGE = Stage("notify", build, families=lambda: notify_service.METRICS, plan_checks=(notification_problems,))
