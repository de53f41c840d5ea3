"""Performance optimisation (seed §2.2 monthly): where the box's resources go, for an operator
deciding what to tune.

- The processes holding the most GPU memory over the month (the GPU collector's
  `opsplan_gpu_process_memory_bytes`, from the store).
- MariaDB's slow-query digest: the slow log the server names (`@@slow_query_log_file`), its
  statements grouped by fingerprint (literals replaced, as pt-query-digest does), worst total
  time first. The log off, unreachable or unreadable is not-run with why.
- Allocation groups over their memory or storage budget at their peak, or using under half of
  it (a budget another group could use).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsplan.checks.model import FAIL, NOT_RUN, PASS, WARN, CheckContext, Figure, ItemResult, Line, worst
from opsplan.format import percent, size
from opsplan.masking import mask_text

ITEM = "performance.optimisation"
TOP = 5
UNDER_USED = 0.5  # a group whose peak stays under half its budget
MAX_LOG_BYTES = 256 * 1024 * 1024  # the newest part of a bigger slow log is read
SUMMARIES = {PASS: "checks.tuning.summary.pass", WARN: "checks.tuning.summary.warn",
             FAIL: "checks.tuning.summary.warn", NOT_RUN: "checks.tuning.summary.partial"}
# What a group's budget is measured with, its figure, and the findings over it / under half of it.
BUDGET_METRICS = {"memory": "opsplan_group_memory_usage_ratio", "storage": "opsplan_group_storage_usage_ratio"}
PEAK = {"memory": "checks.tuning.memory_peak", "storage": "checks.tuning.storage_peak"}
OVER = {"memory": "checks.tuning.memory_over", "storage": "checks.tuning.storage_over"}
UNDER = {"memory": "checks.tuning.memory_under", "storage": "checks.tuning.storage_under"}


@dataclass
class Part:
    status: str
    findings: list[Line] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


# --- GPU memory by process ------------------------------------------------------------------------

def gpu_processes(store: Any, start: float, end: float) -> Part:
    found = store.query("opsplan_gpu_process_memory_bytes", None, start, end, max(end - start, 1.0))
    if not found:
        return Part(NOT_RUN, [Line("checks.tuning.no_gpu_processes")])
    peaks = sorted(((max(p[3] for p in r.points), r.labels) for r in found), key=lambda pair: -pair[0])
    lines = [Line("checks.tuning.gpu_process", {
        "name": labels.get("process", "?"), "pid": labels.get("pid", "?"), "gpu": labels.get("gpu", "?"),
        "group": labels.get("group", "?"), "size": size(peak, language="ko")}) for peak, labels in peaks[:TOP]]
    return Part(PASS, lines)


# --- the slow-query digest ------------------------------------------------------------------------

@dataclass
class Digest:
    fingerprint: str
    count: int = 0
    total: float = 0.0
    longest: float = 0.0
    rows_examined: int = 0


_QUERY_TIME = re.compile(r"^# Query_time: ([\d.]+)\s+Lock_time: [\d.]+\s+Rows_sent: \d+\s+Rows_examined: (\d+)")
_TIME_ISO = re.compile(r"^# Time: (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})")
_TIME_OLD = re.compile(r"^# Time: (\d{6})\s+(\d{1,2}:\d{2}:\d{2})")  # MariaDB: "# Time: 261129 10:00:00"
_SKIP = re.compile(r"^(SET timestamp=\d+;|use [^;]+;|# |/\*)", re.IGNORECASE)


def fingerprint(sql: str) -> str:
    """A statement with its literals replaced, so `WHERE id = 1` and `WHERE id = 2` are one query."""
    text = re.sub(r"'(?:[^'\\]|\\.|'')*'", "?", sql)  # '' and \' are quotes inside a string
    text = re.sub(r'"(?:[^"\\]|\\.|"")*"', "?", text)
    text = re.sub(r"\b0x[0-9a-fA-F]+\b", "?", text)
    text = re.sub(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b", "?", text)
    text = re.sub(r"\(\s*\?(?:\s*,\s*\?)+\s*\)", "(?+)", text)  # IN (1, 2, 3) and IN (4, 5) alike
    text = re.sub(r"\s+", " ", text).strip().rstrip(";").strip()
    return text.lower().replace("`", "")


def _entries(lines: Iterator[str]) -> Iterator[tuple[float | None, float, int, str]]:
    """(time, query seconds, rows examined, statement) per slow-log entry."""
    when: float | None = None
    current: tuple[float, int] | None = None
    sql: list[str] = []
    for raw in lines:
        line = raw.rstrip("\n")
        iso, old = _TIME_ISO.match(line), _TIME_OLD.match(line)
        if iso or old or line.startswith("# User@Host"):
            if current is not None and sql:
                yield when, current[0], current[1], " ".join(sql)
            current, sql = None, []
            if iso:  # MySQL's ISO times are UTC ("...Z")
                when = datetime.fromisoformat(iso.group(1)).replace(tzinfo=UTC).timestamp()
            elif old:  # MariaDB writes the server's local time; the check runs on the same host
                when = datetime.strptime(f"{old.group(1)} {old.group(2)}", "%y%m%d %H:%M:%S").timestamp()
            continue
        timing = _QUERY_TIME.match(line)
        if timing:
            current = (float(timing.group(1)), int(timing.group(2)))
            continue
        if current is not None and line.strip() and not _SKIP.match(line):
            sql.append(line.strip())
    if current is not None and sql:
        yield when, current[0], current[1], " ".join(sql)


def digest(path: Path, start: float, end: float) -> list[Digest]:
    """The slow log's statements in [start, end) grouped by fingerprint, worst total time first."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        length = fh.tell()
        fh.seek(max(0, length - MAX_LOG_BYTES))
        text = fh.read().decode("utf-8", "replace")
    found: dict[str, Digest] = {}
    for when, seconds, rows, sql in _entries(iter(text.splitlines())):
        if when is not None and not start <= when < end:
            continue
        key = fingerprint(sql)
        entry = found.setdefault(key, Digest(key))
        entry.count += 1
        entry.total += seconds
        entry.longest = max(entry.longest, seconds)
        entry.rows_examined += rows
    return sorted(found.values(), key=lambda d: (-d.total, d.fingerprint))


def slow_log_path(plan: Any, environ: Any, connect: Callable[..., Any] | None = None) -> Path | Line:
    """The slow log the server writes, or a Line saying why it cannot be read."""
    from opsplan.mariadb.connection import connect_kwargs
    from opsplan.mariadb.errors import classify_error
    from opsplan.plan.secrets import read_database_password

    if connect is None:
        import pymysql

        connect = pymysql.connect
    try:
        password = read_database_password(plan.database, environ)
        conn = connect(**connect_kwargs(plan.database, password, program_name="opsplan-check"))
    except Exception as exc:  # noqa: BLE001 - any failure to log in is this part's reason, not a crash
        return Line("checks.tuning.no_server", {"detail": classify_error(exc)})
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@slow_query_log, @@slow_query_log_file, @@datadir")
            enabled, name, datadir = cur.fetchone()
    finally:
        conn.close()
    if not int(enabled or 0):
        return Line("checks.tuning.slow_log_off")
    path = Path(str(name))
    return path if path.is_absolute() else Path(str(datadir)) / path


def slow_queries(plan: Any, environ: Any, start: float, end: float) -> Part:
    where = slow_log_path(plan, environ)
    if isinstance(where, Line):
        return Part(NOT_RUN, [where])
    try:
        found = digest(where, start, end)
    except PermissionError:
        return Part(NOT_RUN, [Line("checks.tuning.slow_log_unreadable", {"path": str(where)})])
    except OSError as exc:
        return Part(NOT_RUN, [Line("checks.tuning.slow_log_missing",
                                   {"path": str(where), "detail": exc.strerror or type(exc).__name__})])
    total = sum(d.count for d in found)
    part = Part(PASS, figures=[Figure(Line("checks.tuning.slow_count"), float(total), "count")])
    for entry in found[:TOP]:
        part.findings.append(Line("checks.tuning.slow_query", {
            "count": entry.count, "total": f"{entry.total:.1f}", "longest": f"{entry.longest:.1f}",
            "rows": entry.rows_examined, "query": mask_text(entry.fingerprint)[:300].replace("`", "'")}))
    return part


# --- groups against their budgets -----------------------------------------------------------------

def budgets(plan: Any, store: Any, start: float, end: float) -> Part:
    part = Part(PASS)
    measured = False
    for kind, metric in BUDGET_METRICS.items():
        for result in store.query(metric, None, start, end, max(end - start, 1.0)):
            measured = True
            group = result.labels.get("group", "?")
            peak = max(p[3] for p in result.points)
            words = {"group": group, "value": percent(peak, precision=0, language="ko")}
            part.figures.append(Figure(Line(PEAK[kind], {"group": group}), peak, "ratio", 1.0))
            if peak > 1.0:
                part.status = WARN
                part.findings.append(Line(OVER[kind], words))
            elif peak < UNDER_USED:
                part.findings.append(Line(UNDER[kind], words))
    if not measured:
        return Part(NOT_RUN, [Line("checks.tuning.no_budgets")])
    return part


def evaluate(ctx: CheckContext) -> ItemResult:
    parts: list[Part] = []
    if ctx.store is None:
        parts.append(Part(NOT_RUN, [Line("checks.capacity.no_store")]))
    else:
        parts += [gpu_processes(ctx.store, ctx.start, ctx.end), budgets(ctx.plan, ctx.store, ctx.start, ctx.end)]
    parts.append(slow_queries(ctx.plan, ctx.environ, ctx.start, ctx.end))
    status = worst([p.status for p in parts])
    reason = next((p.findings[0] for p in parts if p.status == NOT_RUN and p.findings), None)
    flagged = sorted(parts, key=lambda p: {WARN: 0, PASS: 1, NOT_RUN: 2}.get(p.status, 1))
    return ItemResult(ITEM, status, Line(SUMMARIES[status], {"count": sum(p.status != NOT_RUN for p in parts),
                                                             "total": len(parts)}),
                      reason=reason if status == NOT_RUN else None,
                      figures=[f for p in parts for f in p.figures],
                      findings=[line for p in flagged for line in p.findings])
