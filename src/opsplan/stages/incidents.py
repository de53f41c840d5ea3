"""Incidents (seed §5): opened from alert notices (a sink of the fan-out), deadlines checked and
counts exported every cycle. The CLI works on the same tables whether or not serve runs."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from opsplan.incidents import metrics as incident_metrics
from opsplan.incidents.follow_up_checks import follow_up_problems
from opsplan.incidents.plan_checks import incident_problems
from opsplan.stages.part import Stage, StageContext, StagePart

if TYPE_CHECKING:  # loaded with serve, when the stage is built
    from opsplan.alerts.engine import AlertEngine
    from opsplan.incidents.evidence import EvidenceSources

log = logging.getLogger(__name__)


def build(ctx: StageContext) -> StagePart:
    from opsplan.alerts.engine import AlertEngine
    from opsplan.incidents.business_hours import holidays_available
    from opsplan.incidents.cycle import IncidentCycle
    from opsplan.incidents.intake import AlertIntake
    from opsplan.incidents.lifecycle import Incidents

    incidents = Incidents(ctx.plan, ctx.state_db)
    ctx.provide(incidents)
    engine = ctx.get(AlertEngine)
    intake = AlertIntake(incidents, time.time, _evidence(ctx, engine))
    ctx.notices.subscribe(intake, many=intake.take)
    hours = ctx.plan.incidents.business_hours

    def warn_without_holidays() -> None:
        if hours.public_holidays and not holidays_available():
            log.warning("the holidays package is not installed: major and minor deadlines count %s public "
                        "holidays as working days", hours.public_holidays)

    firing = engine.firing_notices if engine is not None else None
    # histograms of the time to acknowledge and resolve (issue 13 item 7)
    from opsplan.incidents.histograms import HistogramCycle

    histograms = HistogramCycle(ctx.state_db, list(ctx.plan.incidents.severities))
    from opsplan.incidents.overdue import OverdueCollector, OverdueCount
    from opsplan.incidents.runbook_links import RunbookLinks

    overdue = OverdueCount()  # counted by the cycle hook, read by the next cycle's collector
    return StagePart(collectors=[OverdueCollector(ctx.plan, ctx.state_db, overdue)],
                     on_cycle=[IncidentCycle(incidents, intake, firing, overdue), histograms,
                               RunbookLinks(ctx.state_db)],
                     start=[warn_without_holidays], routers=_web(ctx, incidents))


def _evidence(ctx: StageContext, engine: AlertEngine | None) -> EvidenceSources:
    """What an incident's evidence is read from: serve's metrics store (provided after the stages are
    built, so looked up at each capture), the alert rules and the alerts firing now."""
    from opsplan.incidents.evidence import EvidenceSources
    from opsplan.store import MetricsStore

    return EvidenceSources(ctx.plan, store=lambda: ctx.get(MetricsStore),
                           rules=engine.rules if engine is not None else (),
                           firing=engine.firing_notices if engine is not None else None)


def _web(ctx: StageContext, incidents: Any) -> list[Any]:
    """The HTTP API, and the console's incident pages when serve has a console: both write through
    one IncidentForms (the notifier woken by a stakeholder notice)."""
    from opsplan.notify.service import Notifier
    from opsplan.store import MetricsStore
    from opsplan.web.console.incident_forms import IncidentForms

    notifier = ctx.get(Notifier)
    # serve's metrics store is provided once opened: looked up at each final postmortem, not now.
    forms = IncidentForms(incidents, store=lambda: ctx.get(MetricsStore),
                          wake=notifier.wake if notifier is not None else None)
    return [*_pages(ctx, incidents, forms), _api(ctx, forms)]


def _pages(ctx: StageContext, incidents: Any, forms: Any) -> list[Any]:
    """The console's incident pages (list, detail, postmortem), when serve has a console."""
    from opsplan.web.console.frame import Console
    from opsplan.web.console.incidents import incidents_router

    console = ctx.get(Console)
    if console is None:
        return []
    return [incidents_router(console, incidents, forms, clock=time.time)]


def _api(ctx: StageContext, forms: Any) -> Any:
    """/api/v1/incidents...: writes checked as the alerts' are (a token, or a console session)."""
    from opsplan.web.auth import bearer_auth
    from opsplan.web.identity.routes import IdentityWeb
    from opsplan.web.incidents_api import incidents_router

    identity = ctx.get(IdentityWeb)
    auth = bearer_auth(ctx.plan.web, ctx.environ, ctx.state_db,
                       session_check=identity.require_role("operator") if identity is not None else None)
    return incidents_router(forms, auth, time.time)


def _families() -> dict:
    from opsplan.incidents.histograms import METRICS as HISTOGRAMS

    return {**incident_metrics.METRICS, **HISTOGRAMS}


STAGE = Stage("incidents", build, families=_families, plan_checks=(incident_problems, follow_up_problems))
