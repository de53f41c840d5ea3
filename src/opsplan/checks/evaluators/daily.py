"""The daily check items (seed §2.1), measured over the run's window from the metrics store the
collectors fill (docs/metrics.md names each series) and from the backup catalog.

Thresholds are the plan's §3.2 alert thresholds (monitoring.alerts), so a daily check and an alert
never disagree on what "too high" is. A window without data is not-run with that reason, never a
pass. Figures in a line are {"value", "unit"} pairs: the report formats them in its language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from opsplan.checks.model import (
    FAIL,
    PASS,
    WARN,
    Chart,
    CheckContext,
    Figure,
    ItemResult,
    Line,
    Series,
    not_run,
    worst,
)
from opsplan.checks.registry import evaluator

BUCKETS = 288  # a day in 5-minute steps; longer windows get longer steps
MIN_STEP = 60.0
NEAR_FULL_DAYS = 7.0  # a disk expected to fill within a week is a warning
LINK_BUSY = 0.9  # peak throughput at 90 % of the link speed is a warning
DB_CONNECTIONS_BUSY = 0.9


def _step(ctx: CheckContext) -> float:
    return max(MIN_STEP, round((ctx.end - ctx.start) / BUCKETS / MIN_STEP) * MIN_STEP)


def _query(ctx: CheckContext, name: str, matchers: Mapping[str, str] | None = None) -> list[Any]:
    if ctx.store is None:
        return []
    return list(ctx.store.query(name, matchers, ctx.start, ctx.end, _step(ctx)))


def _no_data(item: str) -> ItemResult:
    return not_run(item, Line("checks.reason.no_data"))


def _no_store(item: str) -> ItemResult:
    return not_run(item, Line("checks.reason.no_store"))


def v(value: float | None, unit: str) -> dict[str, Any]:
    """A number in a line's values: the report writes it in its language with its unit."""
    return {"value": value, "unit": unit}


def _avgs(result: Any) -> np.ndarray:
    return np.array([p[2] for p in result.points], dtype=float)


def _maxes(result: Any) -> np.ndarray:
    return np.array([p[3] for p in result.points], dtype=float)


def _mins(result: Any) -> np.ndarray:
    return np.array([p[1] for p in result.points], dtype=float)


def _p(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _series(result: Any, label: str, which: int = 2) -> Series:
    return Series(label, [(float(p[0]), float(p[which])) for p in result.points])


def _grade(value: float, warning: float | None, critical: float | None) -> str:
    if critical is not None and value >= critical:
        return FAIL
    if warning is not None and value >= warning:
        return WARN
    return PASS


def _pct(threshold: Any) -> tuple[float | None, float | None]:
    """A percent threshold of the plan as ratios (warning, critical)."""
    def ratio(value: float | None) -> float | None:
        return None if value is None else value / 100.0
    return ratio(threshold.warning), ratio(threshold.critical)


def _threshold_lines(warning: float | None, critical: float | None) -> list[tuple[Line, float]]:
    lines = []
    if warning is not None:
        lines.append((Line("checks.threshold.warning"), warning))
    if critical is not None:
        lines.append((Line("checks.threshold.critical"), critical))
    return lines


def _increase(result: Any) -> float:
    """How much a counter grew over the window (from each bucket's last value; a reset counts from 0)."""
    last = [p[4] for p in result.points]
    grown = 0.0
    for before, after in zip(last, last[1:], strict=False):
        grown += after - before if after >= before else after
    return grown


def _rates(result: Any) -> list[tuple[float, float]]:
    """(time, per-second rate) between consecutive buckets of a counter."""
    points = [(p[0], p[4]) for p in result.points]
    out = []
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t1 > t0:
            out.append((t1, ((v1 - v0) if v1 >= v0 else v1) / (t1 - t0)))
    return out


def _with_previous(ctx: CheckContext, item: str, figures: list[Figure]) -> list[Figure]:
    """Each figure with the same figure of the previous run (matched by its name line)."""
    before = ctx.previous(item)
    if before is None:
        return figures
    known = {(f.name.key, tuple(sorted((k, str(x)) for k, x in f.name.values.items()))): f.value
             for f in before.figures}
    for f in figures:
        f.previous = known.get((f.name.key, tuple(sorted((k, str(x)) for k, x in f.name.values.items()))))
    return figures


def _worst_finding(found: Iterable[tuple[str, Line]]) -> tuple[str, list[Line]]:
    ordered = sorted(found, key=lambda x: {FAIL: 0, WARN: 1, PASS: 2}[x[0]])
    return worst([s for s, _ in ordered]), [line for _, line in ordered]


def _p95(result: Any) -> float:
    """The p95 of a series' bucket averages over the window: a busy hour is not a finding."""
    return _p(_avgs(result), 95)


def _peak(result: Any) -> float:
    return float(_maxes(result).max())


_FILLED = None  # a finding's "value" and "threshold", filled by `_Evidence.graded` with what was crossed


class _Evidence:
    """An item's figures and findings as it gathers them, and the ItemResult they make."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.findings: list[tuple[str, Line]] = []

    def figure(self, name: Line, value: float | None, unit: str, threshold: float | None = None) -> None:
        self.figures.append(Figure(name, value, unit, threshold))

    def find(self, status: str, line: Line) -> None:
        self.findings.append((status, line))

    def graded(self, name: Line, value: float, unit: str, warning: float | None, critical: float | None,
               finding: Line, *, shown: str = "warning") -> str:
        """`value` as the figure `name` (compared with the warning, or the critical threshold when
        `shown` says so) and graded against both: past one, `finding` with its "value" and the
        "threshold" it crossed filled in. Returns the grade."""
        self.figure(name, value, unit, critical if shown == "critical" else warning)
        status = _grade(value, warning, critical)
        if status != PASS:
            crossed = warning if status == WARN else critical
            self.find(status, replace(finding, values={**finding.values, "value": v(value, unit),
                                                       "threshold": v(crossed, unit)}))
        return status

    def result(self, ctx: CheckContext, item: str, summary: Line, charts: list[Chart] | None = None) -> ItemResult:
        status, lines = _worst_finding(self.findings)
        return ItemResult(item, status, summary, figures=_with_previous(ctx, item, self.figures),
                          charts=charts or [], findings=lines)


# --- system.usage ------------------------------------------------------------------------------------

_P95 = {"cpu": "checks.fig.cpu_p95", "memory": "checks.fig.memory_p95"}
_MAX = {"cpu": "checks.fig.cpu_max", "memory": "checks.fig.memory_max"}
_HIGH = {"cpu": "checks.usage.cpu", "memory": "checks.usage.memory"}
_CHART = {"cpu": "checks.chart.cpu", "memory": "checks.chart.memory"}
_LABEL = {"cpu": "CPU", "memory": "RAM"}


@evaluator("system.usage")
def system_usage(ctx: CheckContext) -> ItemResult:
    item = "system.usage"
    if ctx.store is None:
        return _no_store(item)
    alerts = ctx.plan.monitoring.alerts
    cpu, memory = _query(ctx, "opsplan_cpu_usage_ratio"), _query(ctx, "opsplan_memory_usage_ratio")
    disks = _query(ctx, "opsplan_disk_usage_ratio")
    groups = _query(ctx, "opsplan_group_memory_usage_ratio")
    if not (cpu or memory or disks):
        return _no_data(item)
    ev = _Evidence()
    charts: list[Chart] = []
    for kind, results, threshold in (("cpu", cpu, alerts.cpu), ("memory", memory, alerts.memory)):
        if not results:
            continue
        warning, critical = _pct(threshold)
        p95, peak = _p95(results[0]), _peak(results[0])
        # The p95 is graded (a busy hour is not a finding); a peak over critical is still worth a look.
        status = worst([_grade(p95, warning, critical), WARN if _grade(peak, None, critical) == FAIL else PASS])
        ev.figure(Line(_P95[kind]), p95, "ratio", warning)
        ev.figure(Line(_MAX[kind]), peak, "ratio", critical)
        if status != PASS:
            ev.find(status, Line(_HIGH[kind], {"value": v(p95, "ratio"), "peak": v(peak, "ratio"),
                                               "threshold": v(warning if status == WARN else critical, "ratio")}))
        charts.append(Chart(Line(_CHART[kind]), "ratio", [_series(results[0], _LABEL[kind])],
                            _threshold_lines(warning, critical)))
    warning, critical = _pct(alerts.group_memory)
    for result in groups:
        group = result.labels.get("group", "?")
        ev.graded(Line("checks.fig.group_memory", {"group": group}), _p95(result), "ratio", warning, critical,
                  Line("checks.usage.group_memory", {"group": group, "value": _FILLED, "threshold": _FILLED}))
    warning, critical = _pct(alerts.disk)
    for result in disks:
        mount = result.labels.get("mountpoint", "?")
        ev.graded(Line("checks.fig.disk", {"mount": mount}), _p95(result), "ratio", warning, critical,
                  Line("checks.usage.disk", {"mount": mount, "value": _FILLED, "threshold": _FILLED}))
    if disks:
        charts.append(Chart(Line("checks.chart.disk"), "ratio",
                            [_series(r, r.labels.get("mountpoint", "?")) for r in disks],
                            _threshold_lines(warning, critical)))
    cpu_p95 = ev.figures[0].value if cpu else None
    mem_p95 = next((f.value for f in ev.figures if f.name.key == "checks.fig.memory_p95"), None)
    summary = Line("checks.usage.summary", {"cpu": v(cpu_p95, "ratio"), "memory": v(mem_p95, "ratio"),
                                            "count": len(ev.findings)})
    return ev.result(ctx, item, summary, charts)


# --- gpu.status --------------------------------------------------------------------------------------

def _gpu_label(labels: Mapping[str, str]) -> str:
    return f"GPU {labels.get('gpu', '?')}"


@evaluator("gpu.status")
def gpu_status(ctx: CheckContext) -> ItemResult:
    item = "gpu.status"
    if ctx.store is None:
        return _no_store(item)
    counted = _query(ctx, "opsplan_gpu_count")
    expected = _query(ctx, "opsplan_gpu_expected")
    if not counted:
        return _no_data(item)
    alerts = ctx.plan.monitoring.alerts
    ev = _Evidence()
    fewest = float(_mins(counted[0]).min())
    wanted = float(expected[0].points[-1][4]) if expected else fewest
    ev.figure(Line("checks.fig.gpu_count"), fewest, "count", wanted)
    for result in _query(ctx, "opsplan_gpu_missing"):
        if _peak(result) >= 1:
            ev.find(FAIL, Line("checks.gpu.missing", {"gpu": result.labels.get("gpu", "?"),
                                                      "group": result.labels.get("group", "?")}))
    for result in _query(ctx, "opsplan_gpu_up"):
        if float(_mins(result).min()) < 1:
            ev.find(FAIL, Line("checks.gpu.down", {"gpu": result.labels.get("gpu", "?"),
                                                   "group": result.labels.get("group", "?")}))
    if fewest < wanted and not ev.findings:
        ev.find(FAIL, Line("checks.gpu.fewer", {"count": int(fewest), "expected": int(wanted)}))
    temps = _query(ctx, "opsplan_gpu_temperature_celsius")
    t = alerts.gpu_temperature
    for result in temps:
        gpu = result.labels.get("gpu", "?")
        ev.graded(Line("checks.fig.gpu_temperature", {"gpu": gpu}), _peak(result), "celsius", t.warning, t.critical,
                  Line("checks.gpu.hot", {"gpu": gpu, "value": _FILLED, "threshold": _FILLED}))
    warning, critical = _pct(alerts.gpu_memory)
    for result in _query(ctx, "opsplan_gpu_memory_usage_ratio"):
        gpu = result.labels.get("gpu", "?")
        ev.graded(Line("checks.fig.gpu_memory", {"gpu": gpu}), _p95(result), "ratio", warning, critical,
                  Line("checks.gpu.memory_full", {"gpu": gpu, "value": _FILLED, "threshold": _FILLED}))
    for result in _query(ctx, "opsplan_group_gpu_utilization_ratio"):
        ev.figure(Line("checks.fig.group_gpu_utilization", {"group": result.labels.get("group", "?")}),
                  float(_avgs(result).mean()), "ratio")
    charts = []
    util = _query(ctx, "opsplan_gpu_utilization_ratio")
    if util:
        charts.append(Chart(Line("checks.chart.gpu_utilization"), "ratio", [_series(r, _gpu_label(r.labels))
                                                                           for r in util]))
    if temps:
        charts.append(Chart(Line("checks.chart.gpu_temperature"), "celsius",
                            [_series(r, _gpu_label(r.labels), 3) for r in temps],
                            _threshold_lines(t.warning, t.critical)))
    return ev.result(ctx, item, Line("checks.gpu.summary", {"count": int(fewest), "expected": int(wanted)}), charts)


# --- network.status ----------------------------------------------------------------------------------

@evaluator("network.status")
def network_status(ctx: CheckContext) -> ItemResult:
    item = "network.status"
    if ctx.store is None:
        return _no_store(item)
    ups = [r for r in _query(ctx, "opsplan_network_up") if r.labels.get("interface") != "lo"]
    received = {r.labels.get("interface"): r for r in _query(ctx, "opsplan_network_receive_bytes_total")}
    sent = {r.labels.get("interface"): r for r in _query(ctx, "opsplan_network_transmit_bytes_total")}
    interfaces = sorted({str(r.labels.get("interface")) for r in ups} | {str(i) for i in received if i != "lo"})
    if not interfaces:
        return _no_data(item)
    capacity = ctx.plan.server.network_gbps * 1e9 / 8
    ev = _Evidence()
    series: list[Series] = []
    for result in ups:
        if float(_mins(result).min()) < 1:
            ev.find(WARN, Line("checks.net.down", {"interface": result.labels.get("interface", "?")}))
    for name in ("opsplan_network_receive_errors_total", "opsplan_network_transmit_errors_total"):
        for result in _query(ctx, name):
            grown = _increase(result)
            if grown > 0 and result.labels.get("interface") != "lo":
                ev.find(WARN, Line("checks.net.errors", {"interface": result.labels.get("interface", "?"),
                                                         "count": int(grown)}))
    peak_all = 0.0
    for interface in interfaces:
        rates: dict[float, float] = {}
        for counters in (received, sent):
            if interface in counters:
                for at, rate in _rates(counters[interface]):
                    rates[at] = rates.get(at, 0.0) + rate
        if not rates:
            continue
        peak = max(rates.values())
        peak_all = max(peak_all, peak)
        ev.figure(Line("checks.fig.net_peak", {"interface": interface}), peak, "bytes_per_second", capacity)
        series.append(Series(interface, sorted(rates.items())))
        if peak >= LINK_BUSY * capacity:
            ev.find(WARN, Line("checks.net.busy", {"interface": interface, "value": v(peak, "bytes_per_second"),
                                                   "threshold": v(capacity, "bytes_per_second")}))
    charts = [Chart(Line("checks.chart.network"), "bytes_per_second", series,
                    [(Line("checks.threshold.link"), capacity)])] if series else []
    summary = Line("checks.net.summary", {"count": len(interfaces), "peak": v(peak_all, "bytes_per_second")})
    return ev.result(ctx, item, summary, charts)


# --- api.response_time, api.error_rate, users.sessions ------------------------------------------------

@evaluator("api.response_time")
def api_response_time(ctx: CheckContext) -> ItemResult:
    item = "api.response_time"
    if ctx.store is None:
        return _no_store(item)
    p95s = _query(ctx, "opsplan_api_response_seconds", {"quantile": "0.95"})
    p99s = {r.labels.get("service"): r for r in _query(ctx, "opsplan_api_response_seconds", {"quantile": "0.99"})}
    if not p95s:
        return _no_data(item)
    threshold = ctx.plan.monitoring.alerts.api_response_time
    ev = _Evidence()
    slowest: tuple[float, str] = (-1.0, "")
    for result in p95s:
        service = result.labels.get("service", "?")
        p95 = _p95(result)
        ev.graded(Line("checks.fig.api_p95", {"service": service}), p95, "seconds", threshold.warning,
                  threshold.critical, Line("checks.api.slow", {"service": service, "value": _FILLED,
                                                               "threshold": _FILLED}))
        if service in p99s:
            ev.figure(Line("checks.fig.api_p99", {"service": service}), _p95(p99s[service]), "seconds")
        slowest = max(slowest, (p95, service))
    chart = Chart(Line("checks.chart.api_p95"), "seconds",
                  [_series(r, r.labels.get("service", "?")) for r in p95s],
                  _threshold_lines(threshold.warning, threshold.critical))
    summary = Line("checks.api.latency_summary", {"service": slowest[1], "value": v(slowest[0], "seconds")})
    return ev.result(ctx, item, summary, [chart])


@evaluator("api.error_rate")
def api_error_rate(ctx: CheckContext) -> ItemResult:
    item = "api.error_rate"
    if ctx.store is None:
        return _no_store(item)
    ratios = _query(ctx, "opsplan_api_error_ratio")
    if not ratios:
        return _no_data(item)
    traffic = {r.labels.get("service"): {p[0]: p[2] for p in r.points}
               for r in _query(ctx, "opsplan_api_requests_per_second")}
    warning, critical = _pct(ctx.plan.monitoring.alerts.api_error_rate)
    ev = _Evidence()
    worst_rate: tuple[float, str] = (-1.0, "")
    for result in ratios:
        service = result.labels.get("service", "?")
        weights = traffic.get(service, {})
        # Weighted by requests: an error in a quiet minute counts as little as the minute's traffic.
        pairs = [(p[2], weights.get(p[0], 1.0)) for p in result.points]
        total = sum(w for _, w in pairs)
        rate = sum(r * w for r, w in pairs) / total if total > 0 else 0.0
        ev.graded(Line("checks.fig.api_errors", {"service": service}), rate, "ratio", warning, critical,
                  Line("checks.api.errors", {"service": service, "value": _FILLED, "threshold": _FILLED}),
                  shown="critical")
        worst_rate = max(worst_rate, (rate, service))
    chart = Chart(Line("checks.chart.api_errors"), "ratio", [_series(r, r.labels.get("service", "?")) for r in ratios],
                  _threshold_lines(warning, critical))
    summary = Line("checks.api.error_summary", {"service": worst_rate[1], "value": v(worst_rate[0], "ratio")})
    return ev.result(ctx, item, summary, [chart])


@evaluator("users.sessions")
def users_sessions(ctx: CheckContext) -> ItemResult:
    item = "users.sessions"
    if ctx.store is None:
        return _no_store(item)
    users = _query(ctx, "opsplan_api_concurrent_users")
    if not users:
        return _no_data(item)
    ev = _Evidence()
    together: dict[float, float] = {}
    for result in users:
        ev.figure(Line("checks.fig.peak_users", {"service": result.labels.get("service", "?")}), _peak(result),
                  "count")
        for p in result.points:
            together[p[0]] = together.get(p[0], 0.0) + p[3]
    peak = max(together.values())
    chart = Chart(Line("checks.chart.users"), "count", [_series(r, r.labels.get("service", "?"), 3) for r in users])
    return ev.result(ctx, item, Line("checks.users.summary", {"count": int(peak)}), [chart])


# --- mariadb.status ----------------------------------------------------------------------------------

@evaluator("mariadb.status")
def mariadb_status(ctx: CheckContext) -> ItemResult:
    item = "mariadb.status"
    if ctx.store is None:
        return _no_store(item)
    up = _query(ctx, "opsplan_mariadb_up")
    if not up:
        return _no_data(item)
    ev = _Evidence()
    step = _step(ctx)
    down_buckets = int((_mins(up[0]) < 1).sum())
    availability = 1.0 - down_buckets / len(up[0].points)
    ev.figure(Line("checks.fig.db_up"), availability, "ratio", 1.0)
    if down_buckets:
        ev.find(FAIL, Line("checks.db.down", {"duration": v(down_buckets * step, "seconds")}))
    usage = _query(ctx, "opsplan_mariadb_connection_usage_ratio")
    connected = _query(ctx, "opsplan_mariadb_threads_connected")
    if connected:
        ev.figure(Line("checks.fig.db_connections"), _peak(connected[0]), "count")
    if usage:
        busiest = _peak(usage[0])
        ev.figure(Line("checks.fig.db_connection_usage"), busiest, "ratio", DB_CONNECTIONS_BUSY)
        if busiest >= DB_CONNECTIONS_BUSY:
            ev.find(WARN, Line("checks.db.connections", {"value": v(busiest, "ratio")}))
    slow = _query(ctx, "opsplan_mariadb_slow_queries_total")
    slow_count = int(_increase(slow[0])) if slow else 0
    ev.figure(Line("checks.fig.db_slow"), float(slow_count), "count")
    if slow_count:
        # Reported, not graded: the seed sets no limit, and long_query_time is the server's choice.
        ev.find(PASS, Line("checks.db.slow", {"count": slow_count}))
    charts = [Chart(Line("checks.chart.db_connections"), "count", [_series(connected[0], "MariaDB", 3)])] \
        if connected else []
    summary = Line("checks.db.summary", {"value": v(availability, "ratio"), "count": slow_count})
    return ev.result(ctx, item, summary, charts)


# --- backup.status -----------------------------------------------------------------------------------

@evaluator("backup.status")
def backup_status(ctx: CheckContext) -> ItemResult:
    from sqlalchemy import func, select

    from opsplan.backup.binlogs.restore import newest_restorable
    from opsplan.backup.database.catalog import DATABASE_TARGET, FAILED, OK, DbBackup

    item = "backup.status"
    if ctx.state_db is None:
        return not_run(item, Line("checks.reason.no_state"))
    limit = ctx.plan.monitoring.alerts.backup_age.critical
    rpo_target = ctx.plan.recovery.rpo
    ev = _Evidence()
    with ctx.state_db.session() as session:
        newest = session.scalars(select(DbBackup).where(DbBackup.target == DATABASE_TARGET, DbBackup.status == OK,
                                                        DbBackup.finished_at <= ctx.end)
                                 .order_by(DbBackup.finished_at.desc()).limit(1)).first()
        failures = session.execute(select(func.count()).select_from(DbBackup).where(
            DbBackup.target == DATABASE_TARGET, DbBackup.status == FAILED, DbBackup.started_at >= ctx.start,
            DbBackup.started_at < ctx.end)).scalar_one()
        point = newest_restorable(session)
        finished = newest.finished_at if newest is not None else None
        verified = newest.verify_status if newest is not None else None
    if finished is None:
        return ItemResult(item, FAIL, Line("checks.backup.none"), findings=[Line("checks.backup.none")])
    age = ctx.end - finished
    rpo = ctx.end - point if point is not None else None
    ev.figure(Line("checks.fig.backup_age"), age, "seconds", limit)
    ev.figure(Line("checks.fig.rpo"), rpo, "seconds", rpo_target)
    ev.figure(Line("checks.fig.backup_failures"), float(failures), "count")
    if age > limit:
        ev.find(FAIL, Line("checks.backup.too_old", {"age": v(age, "seconds"), "threshold": v(limit, "seconds")}))
    if verified == "failed":
        ev.find(FAIL, Line("checks.backup.verify_failed"))
    elif verified != "ok":
        ev.find(WARN, Line("checks.backup.not_verified"))
    if failures:
        ev.find(WARN, Line("checks.backup.failures", {"count": int(failures)}))
    if rpo is not None and rpo > rpo_target:
        ev.find(WARN, Line("checks.backup.rpo", {"value": v(rpo, "seconds"), "threshold": v(rpo_target, "seconds")}))
    summary = Line("checks.backup.summary", {"age": v(age, "seconds"), "value": v(rpo, "seconds")})
    return ev.result(ctx, item, summary)


# --- disk.space --------------------------------------------------------------------------------------

def days_until_full(times: np.ndarray, used: np.ndarray, total: float) -> float | None:
    """A straight line through used bytes over time, extended to the disk's size; None when the
    disk is not filling (or there are too few points to say)."""
    if len(times) < 2 or float(np.ptp(times)) <= 0:
        return None
    slope = float(np.polyfit(times, used, 1)[0])  # bytes per second
    if slope <= 0:
        return None
    return max(0.0, (total - float(used[-1])) / slope / 86400.0)


@evaluator("disk.space")
def disk_space(ctx: CheckContext) -> ItemResult:
    item = "disk.space"
    if ctx.store is None:
        return _no_store(item)
    usage = _query(ctx, "opsplan_disk_usage_ratio")
    if not usage:
        return _no_data(item)
    used = {r.labels.get("mountpoint"): r for r in _query(ctx, "opsplan_disk_used_bytes")}
    total = {r.labels.get("mountpoint"): r for r in _query(ctx, "opsplan_disk_total_bytes")}
    warning, critical = _pct(ctx.plan.monitoring.alerts.disk)
    ev = _Evidence()
    fullest: tuple[float, str] = (-1.0, "")
    for result in usage:
        mount = result.labels.get("mountpoint", "?")
        now_used = float(result.points[-1][4])
        fullest = max(fullest, (now_used, mount))
        ev.graded(Line("checks.fig.disk", {"mount": mount}), now_used, "ratio", warning, critical,
                  Line("checks.disk.usage", {"mount": mount, "value": _FILLED, "threshold": _FILLED}))
        if mount in used and mount in total:
            points = used[mount].points
            days = days_until_full(np.array([p[0] for p in points]), np.array([p[2] for p in points]),
                                   float(total[mount].points[-1][4]))
            ev.figure(Line("checks.fig.disk_days", {"mount": mount}), days, "days", NEAR_FULL_DAYS)
            if days is not None and days < NEAR_FULL_DAYS:
                ev.find(WARN, Line("checks.disk.filling", {"mount": mount, "days": v(days, "days")}))
    chart = Chart(Line("checks.chart.disk"), "ratio", [_series(r, r.labels.get("mountpoint", "?")) for r in usage],
                  _threshold_lines(warning, critical))
    summary = Line("checks.disk.summary", {"mount": fullest[1], "value": v(fullest[0], "ratio")})
    return ev.result(ctx, item, summary, [chart])
