"""What the database engine asks the live server directly: reachability, version, grants, table checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pymysql

from opsplan.errors import BackupError
from opsplan.mariadb.connection import address, connect_kwargs
from opsplan.mariadb.errors import classify_error
from opsplan.plan.models import Database

log = logging.getLogger(__name__)

SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")


@dataclass(frozen=True)
class TableCheck:
    schema: str
    table: str
    rows: int | None
    checksum: int | None


def connect(db: Database, password: str | None) -> Any:
    """A PyMySQL connection as the plan's user, or a one-line BackupError (never the server's text)."""
    try:
        return pymysql.connect(**connect_kwargs(db, password, program_name="opsplan-backup"))
    except Exception as exc:  # noqa: BLE001 - any failure is "unreachable", said in one line
        raise BackupError(f"database {address(db)} unreachable as {db.user}: {classify_error(exc)}") from None


def server_version(conn: Any) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        return str(cur.fetchone()[0])


def show_grants(conn: Any) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SHOW GRANTS")
        return [str(row[0]) for row in cur.fetchall()]


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def table_checks(conn: Any, max_checksum_bytes: int) -> list[TableCheck]:
    """Row count for every user table, CHECKSUM TABLE for those up to `max_checksum_bytes`.

    Tables the user may not read are skipped (the backup privileges do not include SELECT);
    a restore drill compares what is here and says what was not captured.
    """
    checks: list[TableCheck] = []
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_schema, table_name, COALESCE(data_length, 0) + COALESCE(index_length, 0)"
            " FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            f" AND table_schema NOT IN ({', '.join(['%s'] * len(SYSTEM_SCHEMAS))})"
            " ORDER BY table_schema, table_name", SYSTEM_SCHEMAS)
        tables = [(str(s), str(t), int(size)) for s, t, size in cur.fetchall()]
        skipped = 0
        for schema, table, size in tables:
            name = f"{_quote(schema)}.{_quote(table)}"
            try:
                cur.execute(f"SELECT COUNT(*) FROM {name}")  # identifiers cannot be parameters; quoted
                rows = int(cur.fetchone()[0])
                checksum = None
                if size <= max_checksum_bytes:
                    cur.execute(f"CHECKSUM TABLE {name}")
                    value = cur.fetchone()[1]
                    checksum = int(value) if value is not None else None
            except pymysql.err.MySQLError:
                skipped += 1
                continue
            checks.append(TableCheck(schema, table, rows, checksum))
    if skipped:
        log.warning("table checks: %d table(s) not readable by the backup user (grant SELECT to capture them)",
                    skipped)
    return checks
