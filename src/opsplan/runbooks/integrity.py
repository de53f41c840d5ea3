"""Consistency of a restored database: CHECK TABLE on every table, and each user table's row count
and CHECKSUM TABLE against the values captured when the backup was taken (catalog `backup_db_table`).

CHECK TABLE runs over SQL on the caller's connection (a scratch server's, usually), one table at a
time, so a table that fails to open is one failed row, not an aborted run. Views, sequences and the
virtual schemas are not tables and are skipped. Tables too large to checksum at backup time
(`table_checksum_max_bytes`) are compared by row count only; user tables without a capture are
checked but reported as `captured=False` (not a failure: the backup user may not read them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pymysql
from sqlalchemy import select

from opsplan.backup.catalog import DbBackupTable
from opsplan.errors import RunbookError
from opsplan.store.state import StateDB

VIRTUAL_SCHEMAS = ("information_schema", "performance_schema", "sys")
# Schemas the backup never captures (catalog.dbserver.SYSTEM_SCHEMAS); CHECK TABLE still runs on mysql.
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


def _tables(cur: Any, databases: Iterable[str] | None) -> list[tuple[str, str]]:
    query = ("SELECT table_schema, table_name FROM information_schema.tables"
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
    return [(str(s), str(t)) for s, t in cur.fetchall()]


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


def _count_and_checksum(cur: Any, schema: str, table: str, want_checksum: bool) -> tuple[int, int | None]:
    name = f"{_quote(schema)}.{_quote(table)}"
    cur.execute(f"SELECT COUNT(*) FROM {name}")
    rows = int(cur.fetchone()[0])
    checksum = None
    if want_checksum:
        cur.execute(f"CHECKSUM TABLE {name}")
        value = cur.fetchone()[1]
        checksum = int(value) if value is not None else None
    return rows, checksum


def check_integrity(
    connect_params: dict[str, Any],
    expected: Iterable[TableCapture],
    *,
    databases: Iterable[str] | None = None,
) -> IntegrityReport:
    """Check every table on the server `connect_params` reaches and compare with `expected`.

    `databases`: only these schemas (default: all but the virtual ones). Raises RunbookError only
    when the server cannot be reached; every table-level problem is a failed row in the report.
    """
    captures = {(c.schema, c.table): c for c in expected}
    wanted = list(databases) if databases is not None else None
    try:
        conn = pymysql.connect(**connect_params)
    except pymysql.err.MySQLError as exc:
        raise RunbookError(f"integrity check: cannot connect to the restored server: "
                           f"{exc.args[-1] if exc.args else exc}") from None
    results: list[TableResult] = []
    try:
        with conn.cursor() as cur:
            present = _tables(cur, wanted)
            for schema, table in present:
                result = TableResult(schema, table, check_table(cur, schema, table))
                if result.check_status not in ("OK", "not supported"):
                    result.problems.append(f"CHECK TABLE {result.check_status}")
                capture = captures.get((schema, table))
                if capture is not None:
                    _compare(cur, result, capture)
                elif schema not in UNCAPTURED_SCHEMAS:
                    try:  # still worth showing the operator what was restored
                        result.rows_actual, _ = _count_and_checksum(cur, schema, table, False)
                    except pymysql.err.MySQLError as exc:
                        result.problems.append(f"unreadable: {exc.args[-1] if exc.args else exc}")
                results.append(result)
            found = set(present)
            for key, capture in sorted(captures.items()):
                if key in found or (wanted is not None and capture.schema not in wanted):
                    continue
                results.append(TableResult(capture.schema, capture.table, "missing", capture.rows, None,
                                           capture.checksum, None, True, ["missing from the restore"]))
    finally:
        conn.close()
    return IntegrityReport(results)


def _compare(cur: Any, result: TableResult, capture: TableCapture) -> None:
    result.captured = True
    result.rows_expected, result.checksum_expected = capture.rows, capture.checksum
    try:
        result.rows_actual, result.checksum_actual = _count_and_checksum(
            cur, result.schema, result.table, capture.checksum is not None)
    except pymysql.err.MySQLError as exc:
        result.problems.append(f"unreadable: {exc.args[-1] if exc.args else exc}")
        return
    if capture.rows is not None and result.rows_actual != capture.rows:
        result.problems.append(f"rows {result.rows_actual} != {capture.rows} at backup time")
    if capture.checksum is not None and result.checksum_actual != capture.checksum:
        result.problems.append("checksum differs from the backup's")
