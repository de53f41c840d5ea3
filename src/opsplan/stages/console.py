"""The console: the frame every page renders in (web/console/), offered to the stages that add pages.

Built after identity (its sessions) and before every stage with a page. In monitoring-only mode
(no state database, so no identity) it is built too: pages are then read-only, on loopback only.
"""

from __future__ import annotations

from opsplan.stages.part import Stage, StageContext, StagePart


def build(ctx: StageContext) -> StagePart:
    from opsplan.web.console.charts import charts_router
    from opsplan.web.console.frame import Console
    from opsplan.web.identity.routes import IdentityWeb

    console = Console(ctx.plan, ctx.get(IdentityWeb))
    ctx.provide(console)
    # The Metrics page: the frame's own, as it reads only the plan (the store through /api/v1/query).
    return StagePart(routers=[charts_router(console, ctx.families)])


STAGE = Stage("console", build)
