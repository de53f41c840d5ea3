"""The console: the frame every page renders in (web/console/), offered to the stages that add pages,
and the pages that belong to no other stage: the Plan page, the API docs link, the Account page.

Built after identity (its sessions) and before every stage with a page. In monitoring-only mode
(no state database, so no identity) it is built too: pages are then read-only, on loopback only,
and the Account page is not mounted (there is no account to set).
"""

from __future__ import annotations

from opsplan.stages.part import Stage, StageContext, StagePart


def build(ctx: StageContext) -> StagePart:
    from opsplan.stages.all import plan_checks
    from opsplan.web.console.charts import charts_router
    from opsplan.web.console.frame import Console, NavItem
    from opsplan.web.console.plan_page import plan_page_router
    from opsplan.web.identity.routes import IdentityWeb

    identity = ctx.get(IdentityWeb)
    console = Console(ctx.plan, identity)
    console.add_page(NavItem("/plan", 60))
    console.add_page(NavItem("/api/docs", 90))
    ctx.provide(console)
    # The Metrics and Plan pages are the frame's own: they read only the plan (the Metrics page
    # reaches the store through /api/v1/query from the browser).
    routers = [charts_router(console, ctx.families),
               plan_page_router(console, plan_checks(), ctx.environ, ctx.families)]
    if identity is not None:
        from opsplan.web.identity.account import account_router

        routers.append(account_router(identity, console.page))
    return StagePart(routers=routers)


STAGE = Stage("console", build)
