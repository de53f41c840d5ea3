"""The plan's lease as metrics: whether this serve is the active one or a standby (serve/lease.py
holds the lease; every serve exports its role, so Prometheus sees exactly one active per plan)."""

from __future__ import annotations

from opsplan.metrics import Cycle, MetricSpec, gauge, sample
from opsplan.stages.part import Stage, StageContext, StagePart

METRICS: dict[str, MetricSpec] = {
    "opsplan_serve_role": gauge("1 for the role this serve holds now (active: it holds the plan's lease)", "role"),
}


def build(ctx: StageContext) -> StagePart:
    def role_metrics(cycle: Cycle) -> None:
        active = ctx.active.is_active()
        cycle.samples.extend([sample("opsplan_serve_role", 1.0 if active else 0.0, role="active"),
                              sample("opsplan_serve_role", 0.0 if active else 1.0, role="standby")])

    return StagePart(on_cycle=[role_metrics])


STAGE = Stage("lease", build, families=lambda: METRICS)
