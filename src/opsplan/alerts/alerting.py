"""The factory `opsplan serve` wires: the engine, its cycle stage, its API router, and close()."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import APIRouter

from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.events import AlertNotice
from opsplan.collectors.runner import Cycle
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.store.state import StateDB


@dataclass
class Alerting:
    engine: AlertEngine
    on_cycle: Callable[[Cycle], None]
    router: APIRouter

    def close(self) -> None:
        # The engine writes every change as it happens, so there is nothing to flush; the state
        # database belongs to the caller, who closes it.
        return None


def build_alerting(plan: Plan, state_db: StateDB, *, notice_sink: Callable[[AlertNotice], None],
                   clock: Callable[[], float] = time.time, environ: Mapping[str, str] = os.environ,
                   host: str | None = None) -> Alerting:
    from opsplan.web.alerts_api import alerts_router
    from opsplan.web.auth import bearer_auth

    engine = AlertEngine(plan, build_rules(plan), state_db, notice_sink=notice_sink, clock=clock, host=host,
                         console_url=plan.web.public_url)

    def alert_rules(cycle: Cycle) -> None:  # named, so the loop's log says which stage failed
        engine.on_cycle(cycle)

    return Alerting(engine=engine, on_cycle=alert_rules, router=alerts_router(engine, bearer_auth(plan.web, environ)))
