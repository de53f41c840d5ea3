"""Identity: the console's login path (/login, /logout) and the session dependencies.

The stage offers its `IdentityWeb` (`ctx.get(IdentityWeb)`): the console's routers take
`current_user` and `require_role(...)` from it. Users are made with `opsplan user ...`.
"""

from __future__ import annotations

import time

from opsplan.stages.part import Stage, StageContext, StagePart


def build(ctx: StageContext) -> StagePart:
    # Loaded when serve builds the stage: argon2 and the routes stay out of every other command.
    from opsplan.web.identity.routes import build_identity_web, identity_router

    web = build_identity_web(ctx.plan, ctx.state_db, time.time)
    ctx.provide(web)
    return StagePart(routers=[identity_router(web)])


STAGE = Stage("identity", build)
