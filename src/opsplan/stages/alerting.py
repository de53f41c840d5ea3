"""Alerting: the rules on every cycle, alert states, the alerts API, Alertmanager both ways (seed §3.2)."""

from __future__ import annotations

from collections.abc import Iterator

from opsplan.alerts import metrics as alert_metrics
from opsplan.metrics import Cycle
from opsplan.plan.models import Plan
from opsplan.plan.semantic import CheckContext, Problem
from opsplan.rules.check import custom_rule_problems
from opsplan.stages.part import Stage, StageContext, StagePart, Worker


def build(ctx: StageContext) -> StagePart:
    # The engine, its HTTP client and routes load here, when serve builds the stage: a command that
    # only reads the plan (its checks and metric families) skips them, FastAPI and httpx with them.
    from opsplan.alerts.alerting import build_alerting
    from opsplan.alerts.engine import AlertEngine
    from opsplan.alerts.push import AlertmanagerPush
    from opsplan.web.alertmanager_api import alertmanager_router
    from opsplan.web.alerts_api import alerts_router
    from opsplan.web.alerts_page import alerts_page_router
    from opsplan.web.auth import bearer_auth

    plan = ctx.plan
    part = StagePart()
    if plan.monitoring.alertmanager_url:
        # A fleet's Alertmanager hears opsplan's own alerts too; the outbox still delivers them.
        push = AlertmanagerPush(plan.monitoring.alertmanager_url, language=plan.language,
                                instance=plan.server.name, generator_url=plan.web.public_url or "")
        ctx.notices.subscribe(push)
        part.workers.append(Worker("alertmanager push", "alertmanager-push", push.run, push.request_stop))
        part.stop.append(push.stop)  # after its thread: a last post of what is left
    alerting = build_alerting(plan, ctx.state_db, ctx.families, notice_sink=ctx.notices)
    engine: AlertEngine = alerting.engine
    ctx.provide(engine)
    from opsplan.web.console.frame import Console
    from opsplan.web.identity.routes import IdentityWeb

    identity = ctx.get(IdentityWeb)  # the console's sessions may write too (role, CSRF, Origin checked)
    auth = bearer_auth(plan.web, ctx.environ, ctx.state_db,
                       session_check=identity.require_role("operator") if identity is not None else None)
    part.on_cycle.append(alerting.on_cycle)
    part.on_active.append(engine.reload)  # taking over: the alerts as the last holder left them

    def alerts_of_the_active_serve(_cycle: Cycle) -> None:
        engine.reload()  # a standby evaluates nothing: its alerts API and pages show the active one's

    part.on_standby_cycle.append(alerts_of_the_active_serve)
    # Alerts from an external Prometheus arrive through Alertmanager's webhook and join the same list.
    part.routers += [alertmanager_router(engine.ingest_external, auth), alerts_router(engine, auth),
                     alerts_page_router(engine, ctx.get(Console) or Console(plan, identity))]
    return part


def rule_problems(plan: Plan, context: CheckContext) -> Iterator[Problem]:
    for loc, message in custom_rule_problems(plan, context.families):
        yield Problem(loc, message)


STAGE = Stage("alerting", build, families=lambda: alert_metrics.METRICS, plan_checks=(rule_problems,))
