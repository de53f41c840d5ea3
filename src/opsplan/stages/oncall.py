"""On-call (issue 13 item 3): escalation and paging of open incidents each cycle through the
notification outbox, and the heartbeat (dead-man's switch) as a worker of its own."""

from __future__ import annotations

from opsplan.oncall.cycle import METRICS as PAGING_METRICS
from opsplan.oncall.heartbeat import METRICS as HEARTBEAT_METRICS
from opsplan.oncall.plan_checks import oncall_problems
from opsplan.stages.part import Stage, StageContext, StagePart, Worker


def build(ctx: StageContext) -> StagePart:
    from opsplan.incidents.lifecycle import Incidents
    from opsplan.metrics import Cycle
    from opsplan.notify.service import Notifier
    from opsplan.oncall.cycle import PagingCycle
    from opsplan.oncall.heartbeat import HeartbeatSender
    from opsplan.oncall.paging import Paging

    part = StagePart()
    incidents = ctx.get(Incidents)
    if incidents is not None:
        notifier = ctx.get(Notifier)
        paging = Paging(ctx.plan, ctx.state_db, incidents.calendar,
                        wake=notifier.wake if notifier is not None else None)
        ctx.provide(paging)
        part.on_cycle.append(PagingCycle(paging))
    beat = ctx.plan.oncall.heartbeat
    if beat is not None:
        sender = HeartbeatSender(beat, ctx.environ)

        def heartbeat_metrics(cycle: Cycle) -> None:
            cycle.samples.extend(sender.samples())

        part.on_cycle.append(heartbeat_metrics)
        part.workers.append(Worker("heartbeat", "opsplan-heartbeat", sender.run, sender.request_stop))
    return part


STAGE = Stage("oncall", build, families=lambda: {**PAGING_METRICS, **HEARTBEAT_METRICS},
              plan_checks=(oncall_problems,))
