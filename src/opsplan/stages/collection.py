"""Collection: system, GPU, allocation groups, MariaDB and the services (seed §2.1, §3.1)."""

from __future__ import annotations

from opsplan.collectors.build import build_collectors, collection_families
from opsplan.stages.part import Stage, StageContext, StagePart


def build(ctx: StageContext) -> StagePart:
    collectors, rollups = build_collectors(ctx.plan, ctx.environ)
    return StagePart(collectors=collectors, rollups=rollups)


STAGE = Stage("collection", build, families=collection_families)
