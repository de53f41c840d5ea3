"""What a stage declares and what its factory hands `opsplan serve`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from opsplan.collectors.base import Collector
from opsplan.collectors.runner import Rollup
from opsplan.jobs import Job, JobControl
from opsplan.metrics import Cycle, MetricSpec
from opsplan.plan.models import Plan
from opsplan.plan.semantic import PlanCheck
from opsplan.store.state import StateDB

if TYPE_CHECKING:  # only `serve` needs the web framework and the alert engine's fan-out
    from fastapi import APIRouter
    from sqlalchemy.orm import Session

    from opsplan.alerts.alerting import NoticeFanOut

T = TypeVar("T")


@dataclass(frozen=True)
class Worker:
    """A stage's long-running thread: `serve` runs `run` under its supervisor (restarted, with backoff,
    if it dies; reported by /healthz while it is down) and calls `stop` to make `run` return."""

    name: str  # for people: "notifier", "alertmanager push"
    thread_name: str
    run: Callable[[], object]
    stop: Callable[[], object]


@dataclass
class StagePart:
    """One stage's contribution to a running `serve`; every field is optional."""

    collectors: list[Collector] = field(default_factory=list)
    rollups: list[Rollup] = field(default_factory=list)
    # Run on each cycle after collection, in stage order; may add samples of their own.
    on_cycle: list[Callable[[Cycle], None]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)
    start: list[Callable[[], None]] = field(default_factory=list)
    stop: list[Callable[[], None]] = field(default_factory=list)
    # Threads that run as long as serve: started after `start`, stopped before `stop`.
    workers: list[Worker] = field(default_factory=list)
    # Run each time this serve becomes the plan's active one (at start, or taking over from a
    # holder that died): read or recover what the last holder left before acting.
    on_active: list[Callable[[], None]] = field(default_factory=list)
    # Run on each cycle while this serve is a standby (not the plan's active one): read what the
    # active one writes, so this serve's pages and API answer with it.
    on_standby_cycle: list[Callable[[Cycle], None]] = field(default_factory=list)


class Role(Protocol):
    """What serve's lease (serve/lease.py) tells the stages."""

    def is_active(self) -> bool: ...

    def wait_active(self, timeout: float) -> bool: ...

    def holds(self, session: Session) -> bool: ...


class ActiveControl:
    """Whether this serve does the plan's active work (deliver, page, evaluate, run jobs): the one
    that holds the plan's lease. Stages hold this from the start; serve binds it to its lease.
    Unbound (one process without a lease: a command, a test) it is always active."""

    def __init__(self) -> None:
        self._role: Role | None = None

    def bind(self, role: Role) -> None:
        self._role = role

    def is_active(self) -> bool:
        return self._role is None or self._role.is_active()

    def wait_active(self, timeout: float) -> bool:
        return self._role is None or self._role.wait_active(timeout)

    def holds(self, session: Session) -> bool:
        """In the caller's transaction: whether this serve may still act (the lease's fencing)."""
        return self._role is None or self._role.holds(session)


@dataclass
class StageContext:
    """What every factory is given: the plan, the state database, the environment (secrets come
    from it), the alert notice fan-out, and the services earlier stages provided."""

    plan: Plan
    state_db: StateDB
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    notices: NoticeFanOut = field(default_factory=lambda: _fan_out())
    # Every stage's metric families (the rules need the units and labels of what they watch).
    families: Mapping[str, MetricSpec] = field(default_factory=dict)
    # Start a job now (the console's buttons); serve binds it to its scheduler.
    job_control: JobControl = field(default_factory=JobControl)
    # Whether this serve holds the plan's lease; serve binds it (serve/lease.py).
    active: ActiveControl = field(default_factory=ActiveControl)
    _services: dict[type, object] = field(default_factory=dict)

    def provide(self, service: object) -> None:
        """Offer a service to later stages and the web side, found by its type."""
        self._services[type(service)] = service

    def get(self, kind: type[T]) -> T | None:
        found = self._services.get(kind)
        return found if isinstance(found, kind) else None


@dataclass(frozen=True)
class Stage:
    name: str
    build: Callable[[StageContext], StagePart]
    # The metric families the stage emits, by name (docs/metrics*.md documents each).
    families: Callable[[], Mapping[str, MetricSpec]] = dict
    # Its checks of the plan fields it reads, run by every plan load.
    plan_checks: tuple[PlanCheck, ...] = ()


def _fan_out() -> NoticeFanOut:
    # Loaded when serve builds the stages: a command that only reads the plan skips the alert engine.
    from opsplan.alerts.alerting import NoticeFanOut

    return NoticeFanOut()
