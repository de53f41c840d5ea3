"""Evidence captured when an incident opens from an alert (issue 13 item 5): the triggering series
over the hour before, the other alerts firing then, MariaDB's latest readings and the affected
service's recent access log lines, as one `evidence` timeline entry.

Everything is read from what serve already holds (its metrics store, the alert engine's memory, a
bounded tail of a local file): no new connection that could hang the cycle. Each part that has
nothing to give says why (`unavailable`: a reason code the CLI words in Korean and English, and a
masked detail); a capture that fails never keeps the incident from opening.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from opsplan.alerts.events import AlertNotice
from opsplan.masking import mask_text
from opsplan.plan.models import Plan
from opsplan.rules.model import Rule

log = logging.getLogger(__name__)

KIND = "evidence"
CHART_WINDOW = 3600.0     # the hour before the opening
CHART_POINTS = 120        # at most this many points per series: enough for a chart, small on the timeline
CHART_SERIES = 4          # a rule's subject is one series; an external label set may match a few
OTHER_ALERTS = 20
LOG_LINES = 20
LOG_TAIL_BYTES = 64 * 1024  # read from the end of the file, never the whole of a large log
LOG_LINE_CHARS = 500
MARIADB = {"up": "opsplan_mariadb_up", "threads_connected": "opsplan_mariadb_threads_connected",
           "threads_running": "opsplan_mariadb_threads_running",
           "slow_queries_total": "opsplan_mariadb_slow_queries_total"}


class ReadableStore(Protocol):
    """What evidence needs of the metrics store (opsplan.store.MetricsStore)."""

    def query(self, name: str, matchers: dict[str, str] | None, start: float, end: float,
              step: float) -> list[Any]: ...

    def latest(self, name: str, matchers: dict[str, str] | None = None) -> list[tuple[dict[str, str], float, float]]:
        ...


class Unavailable(Exception):
    """A part with nothing to give: `reason` is a code (incident.evidence.reason.*), `detail` a
    short masked text for the English reader and the JSON."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class EvidenceSources:
    plan: Plan
    # serve's metrics store: provided to the stages after they are built, so looked up when needed.
    store: Callable[[], ReadableStore | None]
    rules: Sequence[Rule] = ()
    firing: Callable[[], list[AlertNotice]] | None = None

    def capture(self, notice: AlertNotice, at: float) -> dict[str, Any]:
        """The evidence for an incident that `notice` opened at `at`; never raises."""
        parts: dict[str, Callable[[AlertNotice, float], dict[str, Any]]] = {
            "chart": self._chart, "alerts": self._other_alerts, "mariadb": self._mariadb}
        if notice.labels.get("service"):
            parts["access_log"] = self._access_log
        found: dict[str, Any] = {}
        for name, read in parts.items():
            try:
                found[name] = read(notice, at)
            except Unavailable as exc:
                found[name] = {"unavailable": exc.reason, "detail": mask_text(exc.detail)}
            except Exception as exc:  # noqa: BLE001 - a broken source is noted, the incident opens all the same
                log.warning("incident evidence %s for %s not captured: %s", name, notice.alert, _short(exc))
                found[name] = {"unavailable": "error", "detail": mask_text(_short(exc))}
        return found

    # --- the parts ---------------------------------------------------------------------------------

    def _store(self) -> ReadableStore:
        store = self.store()
        if store is None:
            raise Unavailable("no_store", "the metrics store is not open (serve is not running)")
        return store

    def _rule_of(self, notice: AlertNotice) -> Rule:
        candidates = [r for r in self.rules if r.alert == notice.alert]
        rule = next((r for r in candidates if r.severity == notice.severity), candidates[0] if candidates else None)
        if rule is None:
            raise Unavailable("no_rule", f"no opsplan rule names {notice.alert} (an external alert)")
        return rule

    def _chart(self, notice: AlertNotice, at: float) -> dict[str, Any]:
        rule = self._rule_of(notice)
        store = self._store()
        metric = rule.condition.metric
        matchers = dict(rule.condition.matchers)
        matchers.update({name: notice.labels[name] for name in rule.subject if name in notice.labels})
        step = max(CHART_WINDOW / CHART_POINTS, float(self.plan.monitoring.interval))
        start = at - CHART_WINDOW
        found = store.query(metric, matchers, start, at + 1e-3, step)
        series = [{"labels": dict(result.labels),
                   "points": [[round(p[0], 3), _round(p[2])] for p in result.points if math.isfinite(p[2])]}
                  for result in found[:CHART_SERIES]]
        series = [s for s in series if s["points"]]
        if not series:
            raise Unavailable("no_points", f"no samples of {metric} in the hour before")
        return {"metric": metric, "matchers": matchers, "unit": rule.unit, "threshold": rule.condition.threshold,
                "from": start, "to": at, "step": step, "series": series}

    def _other_alerts(self, notice: AlertNotice, at: float) -> dict[str, Any]:
        if self.firing is None:
            raise Unavailable("no_engine", "the alert engine is not running")
        others = [n for n in self.firing() if n.fingerprint != notice.fingerprint]
        others.sort(key=lambda n: (n.severity != "critical", n.started_at))
        return {"firing": [{"alert": n.alert, "severity": n.severity, "subject": n.subject,
                            "summary": {"ko": n.summary.ko, "en": n.summary.en},
                            "subject_ko": n.subject_ko, "since": n.started_at} for n in others[:OTHER_ALERTS]],
                "more": max(0, len(others) - OTHER_ALERTS)}

    def _mariadb(self, notice: AlertNotice, at: float) -> dict[str, Any]:
        store = self._store()
        readings: dict[str, Any] = {}
        newest = None
        for key, metric in MARIADB.items():
            latest = store.latest(metric)
            if latest:
                _, when, value = max(latest, key=lambda x: x[1])
                readings[key] = _round(value) if math.isfinite(value) else None
                newest = when if newest is None else max(newest, when)
            else:
                readings[key] = None
        if newest is None:
            raise Unavailable("no_readings", "no MariaDB readings in the metrics store")
        return {**readings, "at": newest}

    def _access_log(self, notice: AlertNotice, at: float) -> dict[str, Any]:
        name = notice.labels["service"]
        service = next((s for s in self.plan.services if s.name == name), None)
        if service is None or service.access_log is None:
            raise Unavailable("no_access_log", f"the plan names no access log for service {name}")
        path = service.access_log.path
        try:
            lines = tail(path, LOG_LINES)
        except OSError as exc:
            raise Unavailable("log_unreadable", f"{path}: {exc.strerror or exc}") from None
        return {"service": name, "path": str(path), "lines": [mask_text(line) for line in lines]}


def tail(path: Path, count: int) -> list[str]:
    """The last `count` lines of `path`, reading at most LOG_TAIL_BYTES from its end. Only a regular
    file: opening a named pipe would wait for a writer, and the cycle with it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        size = info.st_size
        begin = max(0, size - LOG_TAIL_BYTES)
        handle.seek(begin)
        data = handle.read(LOG_TAIL_BYTES)
    lines = data.decode("utf-8", errors="replace").splitlines()
    if begin > 0 and lines:
        lines = lines[1:]  # the first one read is cut off
    return [line[:LOG_LINE_CHARS] for line in lines if line.strip()][-count:]


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
