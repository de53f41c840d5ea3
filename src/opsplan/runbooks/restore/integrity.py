"""Consistency of a restored database: CHECK TABLE on every table, and each user table's row count
and CHECKSUM TABLE against the values captured from the backup's prepared copy (catalog
`backup_db_table`, see capture.py).

CHECK TABLE, COUNT(*) and CHECKSUM TABLE run over SQL on a few connections in parallel (biggest
tables first; each statement a task, so one big table still uses every connection), and a table
that fails to open is one failed row, not an aborted run. Views, sequences and the
virtual schemas are not tables and are skipped. Tables too large to checksum at backup time
(`table_checksum_max_bytes`) are compared by row count only; user tables without a capture are
checked but reported as `captured=False` (not a failure: the backup user may not read them).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import pymysql
from sqlalchemy import select

from opsplan.backup.database.catalog import DbBackupTable
from opsplan.errors import RunbookError
from opsplan.store.state import StateDB

VIRTUAL_SCHEMAS = ("information_schema", "performance_schema", "sys")
# Schemas a capture never records (capture.scan_tables); CHECK TABLE still runs on mysql.
UNCAPTURED_SCHEMAS = ("mysql", *VIRTUAL_SCHEMAS)
TABLE_TYPES = ("BASE TABLE", "SYSTEM VERSIONED")


@dataclass(frozen=True)
class TableCapture:
    """What the backup recorded for one table."""

    schema: str
    table: str
    rows: int | None
    checksum: int | None


@dataclass
class TableResult:
    schema: str
    table: str
    check_status: str                 # "OK", "not supported", or CHECK TABLE's error text
    rows_expected: int | None = None
    rows_actual: int | None = None
    checksum_expected: int | None = None
    checksum_actual: int | None = None
    captured: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **asdict(self), "ok": self.ok}


@dataclass
class IntegrityReport:
    tables: list[TableResult]

    @property
    def failures(self) -> list[TableResult]:
        return [t for t in self.tables if not t.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line: counts, and the first few failing tables with why."""
        if self.ok:
            return f"{len(self.tables)} tables checked, all ok"
        named = "; ".join(f"{t.name}: {', '.join(t.problems)}" for t in self.failures[:3])
        more = f" (+{len(self.failures) - 3} more)" if len(self.failures) > 3 else ""
        return f"{len(self.failures)} of {len(self.tables)} tables failed: {named}{more}"

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": len(self.tables), "failed": len(self.failures),
                "tables": [t.as_dict() for t in self.tables]}


def captures_of(state_db: StateDB, backup_id: int) -> list[TableCapture]:
    """The per-table capture of one backup (the chain's tip is the one a restore compares with)."""
    with state_db.session() as session:
        rows = session.scalars(select(DbBackupTable).where(DbBackupTable.backup_id == backup_id)
                               .order_by(DbBackupTable.schema_name, DbBackupTable.table_name))
        return [TableCapture(r.schema_name, r.table_name, r.row_count, r.checksum) for r in rows]


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def list_tables(cur: Any, databases: Iterable[str] | None) -> list[tuple[str, str, int]]:
    """(schema, table, approximate bytes) of every table, in name order."""
    query = ("SELECT table_schema, table_name, COALESCE(data_length, 0) + COALESCE(index_length, 0)"
             " FROM information_schema.tables"
             f" WHERE table_type IN ({', '.join(['%s'] * len(TABLE_TYPES))})"
             f" AND table_schema NOT IN ({', '.join(['%s'] * len(VIRTUAL_SCHEMAS))})")
    args: list[str] = [*TABLE_TYPES, *VIRTUAL_SCHEMAS]
    wanted = list(databases) if databases is not None else None
    if wanted is not None:
        if not wanted:
            return []
        query += f" AND table_schema IN ({', '.join(['%s'] * len(wanted))})"
        args += wanted
    cur.execute(query + " ORDER BY table_schema, table_name", args)
    return [(str(s), str(t), int(n or 0)) for s, t, n in cur.fetchall()]


def check_table(cur: Any, schema: str, table: str) -> str:
    """CHECK TABLE's verdict: "OK", "not supported", or the error/status text (one line)."""
    try:
        cur.execute(f"CHECK TABLE {_quote(schema)}.{_quote(table)}")  # identifiers quoted, not parameters
        rows = cur.fetchall()
    except pymysql.err.MySQLError as exc:
        return f"error: {exc.args[-1] if exc.args else exc}"[:300]
    errors = [str(r[3]) for r in rows if str(r[2]).lower() == "error"]
    status = [str(r[3]) for r in rows if str(r[2]).lower() == "status"]
    if errors:
        return "error: " + "; ".join(errors)[:300]
    if any(s.lower() == "ok" for s in status) or (status and status[-1].lower() == "table is already up to date"):
        return "OK"
    notes = " ".join(str(r[3]) for r in rows).lower()
    if "doesn't support check" in notes:
        return "not supported"
    return ("; ".join(status) or "no status")[:300]


def _error(exc: pymysql.err.MySQLError) -> str:
    return str(exc.args[-1] if exc.args else exc)


def _count(cur: Any, schema: str, table: str) -> int:
    cur.execute(f"SELECT COUNT(*) FROM {_quote(schema)}.{_quote(table)}")
    return int(cur.fetchone()[0])


def _checksum(cur: Any, schema: str, table: str) -> int | None:
    cur.execute(f"CHECKSUM TABLE {_quote(schema)}.{_quote(table)}")
    value = cur.fetchone()[1]
    return int(value) if value is not None else None


# The three scans of one table are independent statements: each is a task of its own, so even a
# database that is one big table keeps every connection busy. Costliest first within a table.
_CHECKSUM, _CHECK, _COUNT = "checksum", "check", "count"  # the task kinds run_table_tasks knows


def default_workers() -> int:
    """Connections the checks run on: CHECK TABLE/CHECKSUM TABLE are CPU and I/O in the server.

    At least three, so one big table's three scans overlap (measured on 2 cores, 0.4 GB table:
    1 connection 2.7 s, 2: 1.9 s, 3: 1.05 s); at most four or one per core.
    """
    return min(4, max(3, os.cpu_count() or 1))


def _connect(connect_params: dict[str, Any]) -> Any:
    try:
        return pymysql.connect(**connect_params)
    except pymysql.err.MySQLError as exc:
        raise RunbookError(f"integrity check: cannot connect to the restored server: {_error(exc)}") from None


def run_table_tasks(first: Any, connect_params: dict[str, Any], tasks: list[tuple[str, str, str]],
               workers: int) -> dict[tuple[str, str, str], Any]:
    """Run (kind, schema, table) tasks on `workers` connections (biggest tables first, as ordered);
    each answer is the statement's value, or the MySQLError it raised."""
    conns = [first]
    for _ in range(min(workers, len(tasks)) - 1):
        try:  # more connections only make it faster: fewer is no error
            conns.append(pymysql.connect(**connect_params))
        except pymysql.err.MySQLError:
            break
    answers: dict[tuple[str, str, str], Any] = {}
    pending = iter(tasks)
    lock = threading.Lock()

    def work(conn: Any) -> None:
        with conn.cursor() as cur:
            while True:
                with lock:
                    task = next(pending, None)
                if task is None:
                    return
                kind, schema, table = task
                if kind == _CHECK:
                    answers[task] = check_table(cur, schema, table)  # errors are its text
                    continue
                try:
                    answers[task] = _checksum(cur, schema, table) if kind == _CHECKSUM else _count(cur, schema, table)
                except pymysql.err.MySQLError as exc:
                    answers[task] = exc

    try:
        if len(conns) == 1:
            work(first)
        else:
            with ThreadPoolExecutor(max_workers=len(conns), thread_name_prefix="integrity") as pool:
                for future in [pool.submit(work, conn) for conn in conns]:
                    future.result()
    finally:
        for conn in conns[1:]:
            conn.close()
    return answers


def check_integrity(
    connect_params: dict[str, Any],
    expected: Iterable[TableCapture],
    *,
    databases: Iterable[str] | None = None,
    workers: int | None = None,
) -> IntegrityReport:
    """Check every table on the server `connect_params` reaches and compare with `expected`.

    `databases`: only these schemas (default: all but the virtual ones). `workers`: connections the
    statements run on in parallel (default `default_workers()`); the report is the same whatever
    the number. Raises RunbookError only when the server cannot be reached; every table-level
    problem is a failed row in the report.
    """
    captures = {(c.schema, c.table): c for c in expected}
    wanted = list(databases) if databases is not None else None
    conn = _connect(connect_params)
    results: list[TableResult] = []
    try:
        with conn.cursor() as cur:
            present = list_tables(cur, wanted)
        tasks: list[tuple[str, str, str]] = []
        for schema, table, _size in sorted(present, key=lambda p: -p[2]):  # stable: name order among equals
            capture = captures.get((schema, table))
            if capture is not None and capture.checksum is not None:
                tasks.append((_CHECKSUM, schema, table))
            tasks.append((_CHECK, schema, table))
            if capture is not None or schema not in UNCAPTURED_SCHEMAS:
                tasks.append((_COUNT, schema, table))
        answers = run_table_tasks(conn, connect_params, tasks, workers or default_workers())
        for schema, table, _size in present:
            result = TableResult(schema, table, answers[(_CHECK, schema, table)])
            if result.check_status not in ("OK", "not supported"):
                result.problems.append(f"CHECK TABLE {result.check_status}")
            capture = captures.get((schema, table))
            if capture is not None:
                _compare(result, capture, answers)
            elif schema not in UNCAPTURED_SCHEMAS:  # still worth showing the operator what was restored
                rows = answers[(_COUNT, schema, table)]
                if isinstance(rows, pymysql.err.MySQLError):
                    result.problems.append(f"unreadable: {_error(rows)}")
                else:
                    result.rows_actual = rows
            results.append(result)
        found = {(s, t) for s, t, _ in present}
        for key, capture in sorted(captures.items()):
            if key in found or (wanted is not None and capture.schema not in wanted):
                continue
            results.append(TableResult(capture.schema, capture.table, "missing", capture.rows, None,
                                       capture.checksum, None, True, ["missing from the restore"]))
    finally:
        conn.close()
    return IntegrityReport(results)


def _compare(result: TableResult, capture: TableCapture, answers: dict[tuple[str, str, str], Any]) -> None:
    result.captured = True
    result.rows_expected, result.checksum_expected = capture.rows, capture.checksum
    key = (result.schema, result.table)
    rows = answers[(_COUNT, *key)]
    checksum = answers.get((_CHECKSUM, *key))
    failed = next((a for a in (rows, checksum) if isinstance(a, pymysql.err.MySQLError)), None)
    if failed is not None:
        result.problems.append(f"unreadable: {_error(failed)}")
        return
    result.rows_actual, result.checksum_actual = rows, checksum
    if capture.rows is not None and result.rows_actual != capture.rows:
        result.problems.append(f"rows {result.rows_actual} != {capture.rows} at backup time")
    if capture.checksum is not None and result.checksum_actual != capture.checksum:
        result.problems.append("checksum differs from the backup's")
