"""What the database engine asks the live server directly: reachability, version, grants.

It never scans tables: per-table figures come from the prepared copy (runbooks/restore/capture.py)."""

from __future__ import annotations

from typing import Any

import pymysql

from opsplan.errors import BackupError
from opsplan.mariadb.connection import address, connect_kwargs
from opsplan.mariadb.errors import classify_error
from opsplan.plan.models import Database


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
