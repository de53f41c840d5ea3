"""Capacity planning (seed §2.2 monthly, "용량 계획 수립"): what is measured, against which lines,
and the result an operator reads: a robust trend per subject and the date it crosses each line.

Subjects: each allocation group's storage, memory and GPU memory (against its budget, or the
GPU memory installed), the MariaDB data (against the budget of the group whose paths hold the
datadir), and each mount (against its size); the mount holding `backup.directory` is shown as
the backup store. Lines: the plan's §3.2 warning and critical percentages of that capacity, and
the capacity itself (the budget, or full).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from opsplan.checks import forecast
from opsplan.checks.model import FAIL, PASS, WARN, Chart, CheckContext, Figure, ItemResult, Line, Series, not_run
from opsplan.format import percent, size

ITEM = "capacity.planning"
HISTORY_DAYS = 400  # the store's rollup retention (monitoring.store.rollup_retention default)
SOON = 30 * forecast.DAY  # a critical line or the budget reached within this: fail
QUARTER = 90 * forecast.DAY  # ... within this: warn
CHART_HORIZON = 365 * forecast.DAY  # the chart runs until the last crossing, at most a year ahead
# Each kind's catalogue keys, literal so the catalogue test can follow them.
TITLES = {
    "storage": "checks.capacity.storage.title", "memory": "checks.capacity.memory.title",
    "gpu_memory": "checks.capacity.gpu_memory.title", "database": "checks.capacity.database.title",
    "backup_store": "checks.capacity.backup_store.title", "mount": "checks.capacity.mount.title",
}
ALREADY = {
    "storage": "checks.capacity.storage.already", "memory": "checks.capacity.memory.already",
    "gpu_memory": "checks.capacity.gpu_memory.already", "database": "checks.capacity.database.already",
    "backup_store": "checks.capacity.backup_store.already", "mount": "checks.capacity.mount.already",
}
REACHES = {
    "storage": "checks.capacity.storage.reaches", "memory": "checks.capacity.memory.reaches",
    "gpu_memory": "checks.capacity.gpu_memory.reaches", "database": "checks.capacity.database.reaches",
    "backup_store": "checks.capacity.backup_store.reaches", "mount": "checks.capacity.mount.reaches",
}
REACHES_OPEN = {  # the slope's interval includes no growth: the date has no late end
    "storage": "checks.capacity.storage.reaches_open", "memory": "checks.capacity.memory.reaches_open",
    "gpu_memory": "checks.capacity.gpu_memory.reaches_open",
    "database": "checks.capacity.database.reaches_open",
    "backup_store": "checks.capacity.backup_store.reaches_open", "mount": "checks.capacity.mount.reaches_open",
}
NEVER = {
    "storage": "checks.capacity.storage.never", "memory": "checks.capacity.memory.never",
    "gpu_memory": "checks.capacity.gpu_memory.never", "database": "checks.capacity.database.never",
    "backup_store": "checks.capacity.backup_store.never", "mount": "checks.capacity.mount.never",
}
LEVEL_NAMES = {"warning": "checks.capacity.level.warning", "critical": "checks.capacity.level.critical",
               "budget": "checks.capacity.level.budget", "full": "checks.capacity.level.full"}
SUMMARIES = {PASS: "checks.capacity.summary.pass", WARN: "checks.capacity.summary.warn",
             FAIL: "checks.capacity.summary.fail"}
SERIOUS = ("critical", "budget", "full")  # reaching these soon fails; a warning line only warns


@dataclass
class Subject:
    kind: str  # a key of TITLES
    values: dict[str, str]  # the catalogue values naming it: {"group": "ai"} or {"mount": "/data"}
    metric: str
    matchers: dict[str, str]
    capacity: float | None  # bytes: what the levels are fractions of (None: trend only)
    levels: list[tuple[str, float]] = field(default_factory=list)  # (name, fraction of capacity)

    @property
    def label(self) -> str:
        return next(iter(self.values.values()))


@dataclass
class Outcome:
    subject: Subject
    times: np.ndarray
    values: np.ndarray
    fit: forecast.Fit
    crossings: list[tuple[str, forecast.Crossing]]


def _levels(*pairs: tuple[str, float | None]) -> list[tuple[str, float]]:
    seen: dict[float, str] = {}
    for name, percent_value in pairs:
        if percent_value is not None and percent_value / 100.0 not in seen:
            seen[percent_value / 100.0] = name
    return sorted(((name, fraction) for fraction, name in seen.items()), key=lambda pair: pair[1])


def _holder(path: PurePosixPath, candidates: Iterable[str]) -> str | None:
    """The candidate directory (a mountpoint, a group path) that holds `path`: the longest prefix."""
    best: str | None = None
    for candidate in candidates:
        root = PurePosixPath(candidate)
        if (path == root or root in path.parents) and (best is None or len(candidate) > len(best)):
            best = candidate
    return best


def _latest(store: Any, name: str, matchers: dict[str, str]) -> float | None:
    found = store.latest(name, matchers)
    return float(found[0][2]) if found else None


def subjects(plan: Any, store: Any) -> list[Subject]:
    alerts = plan.monitoring.alerts
    disk = (("warning", alerts.disk.warning), ("critical", alerts.disk.critical))
    out: list[Subject] = []
    for group in plan.allocation:
        by_group = {"group": group.id}
        out.append(Subject("storage", dict(by_group), "opsplan_group_storage_used_bytes", dict(by_group),
                           float(group.storage), _levels(*disk, ("budget", 100.0))))
        out.append(Subject("memory", dict(by_group), "opsplan_group_memory_used_bytes", dict(by_group),
                           float(group.memory), _levels(("warning", alerts.group_memory.warning),
                                                        ("critical", alerts.group_memory.critical),
                                                        ("budget", 100.0))))
        out.append(Subject("gpu_memory", dict(by_group), "opsplan_group_gpu_memory_used_bytes", dict(by_group),
                           _latest(store, "opsplan_group_gpu_memory_total_bytes", by_group),
                           _levels(("warning", alerts.gpu_memory.warning), ("critical", alerts.gpu_memory.critical),
                                   ("full", 100.0))))
    datadir = PurePosixPath(str(plan.database.datadir))
    paths = {str(path): group for group in plan.allocation for path in group.paths}
    holder = _holder(datadir, paths)
    budget = float(paths[holder].storage) if holder is not None else None
    database_metric = "opsplan_mariadb_datadir_bytes"
    if not store.series(database_metric) and store.series("opsplan_mariadb_data_bytes"):
        database_metric = "opsplan_mariadb_data_bytes"  # the datadir could not be read whole
    out.append(Subject("database", {"name": "MariaDB"}, database_metric, {}, budget,
                       _levels(*disk, ("budget", 100.0)) if budget is not None else []))
    mounts = sorted({labels.get("mountpoint", "") for _, labels in store.series("opsplan_disk_used_bytes")} - {""})
    backup_mount = _holder(PurePosixPath(str(plan.backup.directory)), mounts)
    for mount in mounts:
        kind = "backup_store" if mount == backup_mount else "mount"
        out.append(Subject(kind, {"mount": mount}, "opsplan_disk_used_bytes", {"mountpoint": mount},
                           _latest(store, "opsplan_disk_total_bytes", {"mountpoint": mount}),
                           _levels(*disk, ("full", 100.0))))
    return out


def history(store: Any, subject: Subject, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Daily maxima over the last HISTORY_DAYS whole days (UTC days) up to `end`."""
    start = math.floor((end - HISTORY_DAYS * forecast.DAY) / forecast.DAY) * forecast.DAY
    found = store.query(subject.metric, subject.matchers or None, start, end, forecast.DAY)
    if not found:
        return np.zeros(0), np.zeros(0)
    if len(found) == 1:
        return forecast.daily_maxima(found[0].points)
    # Several series under one name (a metric with extra labels): their daily sum of maxima.
    days: dict[float, float] = {}
    for result in found:
        for t, _mn, _avg, mx, _last in result.points:
            days[t] = days.get(t, 0.0) + mx
    ordered = sorted(days.items())
    return np.array([t for t, _ in ordered]), np.array([v for _, v in ordered])


def analyse(subject: Subject, times: np.ndarray, values: np.ndarray, now: float) -> Outcome:
    fit = forecast.theil_sen(times, values)
    latest = float(values[-1])
    crossings = [(name, forecast.crossing(fit, fraction * subject.capacity, latest, now))
                 for name, fraction in subject.levels if subject.capacity]
    return Outcome(subject, times, values, fit, crossings)


def status_of(outcome: Outcome, now: float) -> str:
    status = PASS
    for name, cross in outcome.crossings:
        serious = name in SERIOUS
        if cross.outcome == forecast.ALREADY:
            status = FAIL if serious else max(status, WARN, key=_rank)
        elif cross.outcome == forecast.DATE and cross.when is not None:
            ahead = cross.when - now
            if serious and ahead <= SOON:
                status = FAIL
            elif (serious and ahead <= QUARTER) or (not serious and ahead <= SOON):
                status = max(status, WARN, key=_rank)
    return status


def _rank(status: str) -> int:
    return {PASS: 0, WARN: 1, FAIL: 2}[status]


class Words:
    """Dates and sizes written for both languages (ISO dates, decimal sizes without '.0')."""

    def __init__(self, timezone: str):
        self.zone = ZoneInfo(timezone)

    def date(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.zone).strftime("%Y-%m-%d")

    @staticmethod
    def size(value: float) -> str:
        return size(value, language="ko")

    @staticmethod
    def level(fraction: float) -> str:
        return percent(fraction, precision=0, language="ko")


def findings(outcome: Outcome, words: Words) -> list[Line]:
    """What to tell about one subject: the highest line it is already over, then the next line
    ahead with its date (or that the trend does not grow)."""
    subject, fit = outcome.subject, outcome.fit
    kind, values = subject.kind, dict(subject.values)
    growth = words.size(fit.per_day())
    fractions = dict(subject.levels)
    out: list[Line] = []
    over = [name for name, cross in outcome.crossings if cross.outcome == forecast.ALREADY]
    if over:
        out.append(Line(ALREADY[kind], {**values, "level": words.level(fractions[over[-1]]), "growth": growth}))
    ahead = next(((name, cross) for name, cross in outcome.crossings if cross.outcome != forecast.ALREADY), None)
    if ahead is not None:
        name, cross = ahead
        level = words.level(fractions[name])
        if cross.outcome == forecast.NEVER:
            if not over:  # after "already over", the growth it states says the rest
                out.append(Line(NEVER[kind], {**values, "growth": growth}))
        elif cross.latest is None:
            out.append(Line(REACHES_OPEN[kind], {**values, "level": level, "growth": growth,
                                                 "date": words.date(cross.when or 0.0),
                                                 "early": words.date(cross.earliest or 0.0)}))
        else:
            out.append(Line(REACHES[kind], {**values, "level": level, "growth": growth,
                                            "date": words.date(cross.when or 0.0),
                                            "early": words.date(cross.earliest or 0.0),
                                            "late": words.date(cross.latest)}))
    elif not over and fit.per_day() <= 0:  # no capacity to compare with: the trend alone
        out.append(Line(NEVER[kind], {**values, "growth": growth}))
    return out


def chart(outcome: Outcome, now: float, words: Words) -> Chart:
    """The daily maxima, the fitted line and its shaded 95 % band, with the lines it may cross."""
    subject, fit = outcome.subject, outcome.fit
    until = now + QUARTER
    for _name, cross in outcome.crossings:
        for edge in (cross.when, cross.latest):
            if edge is not None:
                until = max(until, edge)
    until = min(until, now + CHART_HORIZON)
    first = float(outcome.times[0])
    times = np.linspace(first, until, 60).tolist()
    fitted = Series("Theil–Sen", [(t, fit.at(t)) for t in times])
    low = Series("95%", [(t, fit.band_at(t)[0]) for t in times])
    high = Series("95%", [(t, fit.band_at(t)[1]) for t in times])
    measured = Series(subject.label, list(zip(outcome.times.tolist(), outcome.values.tolist(), strict=True)))
    lines = [(Line(LEVEL_NAMES[name], {"level": words.level(fraction)}), fraction * subject.capacity)
             for name, fraction in subject.levels if subject.capacity]
    return Chart(Line(TITLES[subject.kind], dict(subject.values)), "bytes", [measured, fitted], lines, (low, high))


def evaluate(ctx: CheckContext) -> ItemResult:
    if ctx.store is None:
        return not_run(ITEM, Line("checks.capacity.no_store"))
    words = Words(ctx.plan.timezone)
    previous = ctx.previous(ITEM)
    before = {(f.name.key, tuple(sorted(f.name.values.items()))): f.value for f in previous.figures} \
        if previous is not None else {}
    outcomes: list[Outcome] = []
    short: list[str] = []
    for subject in subjects(ctx.plan, ctx.store):
        times, values = history(ctx.store, subject, ctx.end)
        if times.size == 0:
            continue  # not measured on this host (no members, no GPU): nothing to plan
        if times.size < forecast.MIN_POINTS:
            short.append(subject.label)
            continue
        outcomes.append(analyse(subject, times, values, ctx.now))
    if not outcomes:
        return not_run(ITEM, Line("checks.capacity.no_history", {"days": forecast.MIN_POINTS}))
    statuses = [status_of(outcome, ctx.now) for outcome in outcomes]
    order = sorted(range(len(outcomes)), key=lambda i: -_rank(statuses[i]))
    result_findings: list[Line] = []
    figures: list[Figure] = []
    charts: list[Chart] = []
    for i in order:
        outcome = outcomes[i]
        result_findings += findings(outcome, words)
        title = Line(TITLES[outcome.subject.kind], dict(outcome.subject.values))
        critical = next((fraction for name, fraction in outcome.subject.levels if name in SERIOUS), None)
        threshold = critical * outcome.subject.capacity if critical and outcome.subject.capacity else None
        figures.append(Figure(title, float(outcome.values[-1]), "bytes", threshold,
                              before.get((title.key, tuple(sorted(title.values.items()))))))
        charts.append(chart(outcome, ctx.now, words))
    if short:
        result_findings.append(Line("checks.capacity.too_short", {"days": forecast.MIN_POINTS,
                                                                    "names": ", ".join(short)}))
    status = max(statuses, key=_rank)
    flagged = sum(1 for s in statuses if s == status)  # the summary counts those as bad as the item
    return ItemResult(ITEM, status, Line(SUMMARIES[status], {"count": len(outcomes), "flagged": flagged}),
                      figures=figures, charts=charts, findings=result_findings)
