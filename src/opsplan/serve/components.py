"""The stages `opsplan serve` runs beside collection, built from the plan in one place.

Collection needs nothing but the plan; the stages after it (alert rules, notifications, backups)
share the state database. Each stage is built here and handed to the loop, the scheduler and the
web app as plain callables, so server.py only starts and stops things.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from opsplan.alerts.events import AlertNotice
from opsplan.collectors.base import Collector
from opsplan.collectors.runner import Cycle
from opsplan.plan.models import Plan
from opsplan.serve.scheduler import Job
from opsplan.store.state import StateDB, state_url

log = logging.getLogger("opsplan.serve")


@dataclass
class Components:
    state_db: StateDB
    collectors: list[Collector] = field(default_factory=list)
    stages: list[Callable[[Cycle], None]] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    starts: list[Callable[[], None]] = field(default_factory=list)
    stops: list[Callable[[], None]] = field(default_factory=list)  # in the order they must run
    alerts: Any = None  # the alert engine, for the status page

    def start(self) -> None:
        for start in self.starts:
            start()

    def stop(self) -> None:
        for stop in self.stops:
            try:
                stop()
            except Exception:  # noqa: BLE001 - stopping one part must not keep the others running
                log.exception("stopping %s failed", getattr(stop, "__qualname__", stop))
        self.state_db.close()


def _fan_out(sinks: list[Callable[[AlertNotice], object]]) -> Callable[[AlertNotice], None]:
    def deliver(notice: AlertNotice) -> None:
        for sink in sinks:
            try:
                sink(notice)
            except Exception:  # noqa: BLE001 - the outbox must get the notice even if a push fails
                log.exception("notice sink %s failed", getattr(sink, "__qualname__", sink))
    return deliver


def build_components(plan: Plan, environ: Mapping[str, str] = os.environ) -> Components:
    from opsplan.alerts.alerting import build_alerting
    from opsplan.alerts.push import AlertmanagerPush
    from opsplan.backup.binlogs_jobs import binlog_jobs
    from opsplan.backup.drill_results import DrillCollector
    from opsplan.backup.files_jobs import file_backup_jobs
    from opsplan.backup.files_metrics import FileBackupCollector
    from opsplan.backup.jobs import database_jobs, recover_at_start
    from opsplan.backup.metrics import BackupCollector
    from opsplan.backup.rpo import RpoCollector
    from opsplan.notify.service import build_notifier
    from opsplan.runbooks.drill_db import drill_jobs
    from opsplan.runbooks.drill_model import run_drill as run_model_drill
    from opsplan.web.alertmanager_api import alertmanager_router
    from opsplan.web.auth import bearer_auth

    state_db = StateDB.open(state_url(plan.data_dir, plan.state_db_url_env, environ))
    parts = Components(state_db=state_db)

    notifier = build_notifier(plan, state_db, environ=environ)
    sinks: list[Callable[[AlertNotice], object]] = [notifier.submit]
    if plan.monitoring.alertmanager_url:
        # A fleet's Alertmanager hears opsplan's own alerts too; the outbox still delivers them.
        push = AlertmanagerPush(plan.monitoring.alertmanager_url, language=plan.language,
                                instance=plan.server.name, generator_url=plan.web.public_url or "")
        sinks.append(push)
        parts.starts.append(push.start)
        parts.stops.append(push.stop)
    alerting = build_alerting(plan, state_db, notice_sink=_fan_out(sinks), environ=environ)
    parts.alerts = alerting.engine
    # Alerts from an external Prometheus arrive through Alertmanager's webhook and join the same list.
    parts.routers.append(alertmanager_router(alerting.engine.ingest_external, bearer_auth(plan.web, environ)))

    def notification_metrics(cycle: Cycle) -> None:
        cycle.samples.extend(notifier.samples())

    parts.stages += [alerting.on_cycle, notification_metrics]
    parts.routers.append(alerting.router)
    parts.starts.append(notifier.start)
    parts.stops += [notifier.stop, alerting.close]

    # A backup killed with the last process (SIGKILL, power loss) is marked failed and cleaned first.
    recover_at_start(plan, state_db)
    parts.collectors += [BackupCollector(plan, state_db), FileBackupCollector(plan, state_db),
                         DrillCollector(plan, state_db), RpoCollector(plan, state_db)]
    parts.jobs += database_jobs(plan, state_db) + file_backup_jobs(plan, state_db)
    # Closed binlogs archived every few minutes: point-in-time restores and a smaller RPO.
    parts.jobs += binlog_jobs(plan, state_db, environ=environ)
    # The quarterly backup recovery test (seed §2.2) restores into a scratch server, never the live one.
    parts.jobs += drill_jobs(plan, state_db, environ=environ)
    schedule = plan.recovery.drill_schedule or plan.checks.quarterly.schedule
    for model in plan.backup.models.models:
        parts.jobs.append(Job(f"drill-model-{model.name}", schedule,
                              functools.partial(run_model_drill, plan, state_db, model.name)))
    return parts
