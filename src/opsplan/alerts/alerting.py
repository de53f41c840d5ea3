"""The alert stage's domain half: the engine over the plan's rules, and the cycle hook that feeds it.
Its HTTP side (web/alerts_api.py) and its wiring into `serve` (stages/alerting.py) sit above it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.events import AlertNotice
from opsplan.metrics import Cycle, MetricSpec
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


@dataclass
class Alerting:
    engine: AlertEngine
    on_cycle: Callable[[Cycle], None]


def build_alerting(plan: Plan, state_db: StateDB, families: Mapping[str, MetricSpec], *,
                   notice_sink: Callable[[AlertNotice], None], clock: Callable[[], float] = time.time,
                   host: str | None = None) -> Alerting:
    engine = AlertEngine(plan, build_rules(plan, families), state_db, notice_sink=notice_sink, clock=clock, host=host,
                         console_url=plan.web.public_url)

    def alert_rules(cycle: Cycle) -> None:  # named, so the loop's log says which stage failed
        engine.on_cycle(cycle)

    return Alerting(engine=engine, on_cycle=alert_rules)


class NoticeFanOut:
    """Every alert notice goes to each subscriber in turn (the notify outbox, Alertmanager, and
    later incidents); one failing subscriber does not keep the notice from the others."""

    def __init__(self) -> None:
        # (one notice at a time, or a cycle's notices at once when the subscriber can take them so)
        self._sinks: list[tuple[Callable[[AlertNotice], object], Callable[[list[AlertNotice]], object] | None]] = []

    def subscribe(self, sink: Callable[[AlertNotice], object], *,
                  many: Callable[[list[AlertNotice]], object] | None = None) -> None:
        """`many`, if given, takes all of one cycle's notices in one call (the outbox writes them in
        one transaction); `sink` takes them one by one otherwise."""
        self._sinks.append((sink, many))

    def __call__(self, notice: AlertNotice) -> None:
        self.publish([notice])

    def publish(self, notices: list[AlertNotice]) -> None:
        for sink, many in self._sinks:
            if many is not None:
                self._deliver(many, notices)
            else:
                for notice in notices:
                    self._deliver(sink, notice)

    @staticmethod
    def _deliver(sink: Callable[[Any], object], what: object) -> None:
        try:
            sink(what)
        except Exception:  # noqa: BLE001 - the outbox must get the notice even if a push fails
            log.exception("notice sink %s failed", getattr(sink, "__qualname__", sink))
