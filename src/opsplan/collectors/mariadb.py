"""MariaDB collector: availability, load, counters, buffer pool, replication and data size.

Down is a value, not an exception: when the server cannot be reached or refuses us, `collect`
returns `opsplan_mariadb_up 0` with a short fixed reason label, and the reason is logged once
per change of state. The password is only ever handed to the connect function; it never
appears in a label, a log line or an exception message from here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import pymysql
import pymysql.cursors

from opsplan.fsutil import directory_bytes
from opsplan.mariadb.connection import connect_kwargs
from opsplan.mariadb.errors import classify_error
from opsplan.metrics import MetricSpec, Sample, counter, gauge, sample
from opsplan.plan.models import Database
from opsplan.plan.secrets import read_database_password

log = logging.getLogger(__name__)

METRICS: dict[str, MetricSpec] = {
    "opsplan_mariadb_up": gauge("1 if the server answered this cycle, else 0"),
    "opsplan_mariadb_last_error_info": gauge(
        "1 while the server is down, labelled with a short reason", "reason"),
    "opsplan_mariadb_info": gauge("Always 1, labelled with the server version", "version"),
    "opsplan_mariadb_uptime_seconds": gauge("Seconds since the server started", unit="seconds"),
    "opsplan_mariadb_threads_connected": gauge("Open client connections"),
    "opsplan_mariadb_threads_running": gauge("Connections executing a statement now"),
    "opsplan_mariadb_max_connections": gauge("The server's max_connections setting"),
    "opsplan_mariadb_connection_usage_ratio": gauge(
        "threads_connected / max_connections", unit="ratio"),
    "opsplan_mariadb_queries_total": counter("Statements sent by clients (status Questions)"),
    "opsplan_mariadb_queries_per_second": gauge(
        "Client statements per second since the previous cycle", unit="per_second"),
    "opsplan_mariadb_slow_queries_total": counter("Statements slower than long_query_time"),
    "opsplan_mariadb_aborted_connects_total": counter(
        "Failed connection attempts (bad password, no privilege, bad packet)"),
    "opsplan_mariadb_innodb_buffer_pool_read_requests_total": counter("InnoDB logical page reads"),
    "opsplan_mariadb_innodb_buffer_pool_reads_total": counter(
        "InnoDB page reads that missed the buffer pool and went to disk"),
    "opsplan_mariadb_innodb_buffer_pool_hit_ratio": gauge(
        "1 - reads/read_requests since server start", unit="ratio"),
    "opsplan_mariadb_replication_configured": gauge(
        "1 if the plan says replication or the server has a replica configuration"),
    "opsplan_mariadb_replication_io_running": gauge("1 if the replica I/O thread is running"),
    "opsplan_mariadb_replication_sql_running": gauge("1 if the replica SQL thread is running"),
    "opsplan_mariadb_replication_lag_seconds": gauge(
        "Seconds_Behind_Master; absent while the SQL thread is stopped", unit="seconds"),
    "opsplan_mariadb_datadir_bytes": gauge(
        "Sum of file sizes under the plan's datadir", unit="bytes"),
    "opsplan_mariadb_data_bytes": gauge(
        "When the datadir is not readable: InnoDB tablespace file sizes (needs PROCESS), else "
        "data_length + index_length of the tables the monitor user can see", unit="bytes"),
}

_STATUS = (
    "Uptime", "Threads_connected", "Threads_running", "Questions", "Slow_queries",
    "Aborted_connects", "Innodb_buffer_pool_reads", "Innodb_buffer_pool_read_requests",
)
_VARIABLES = ("max_connections", "version")

def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _running(value: Any) -> float:
    # "Connecting"/"Preparing" are not running yet: replication is not flowing.
    return 1.0 if str(value).strip().lower() == "yes" else 0.0


class MariaDBCollector:
    """Reads one MariaDB server over one connection kept across cycles (reconnects on failure)."""

    name = "mariadb"

    def __init__(
        self,
        db: Database,
        password: str | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        connect: Callable[..., Any] = pymysql.connect,
        read_timeout: float | None = None,
        size_cache_seconds: float = 300.0,
        replica_recheck_seconds: float = 300.0,
    ) -> None:
        self.db = db
        self._password = password
        self._clock = clock
        self._connect = connect
        # The handshake is read with read_timeout, so without one a silent peer hangs us forever.
        self._read_timeout = float(read_timeout if read_timeout is not None else db.connect_timeout)
        self._size_cache_seconds = size_cache_seconds
        self._conn: Any = None
        self._state: str | None = None  # None before the first cycle, "up", or the down reason
        self._previous: tuple[float, float, float] | None = None  # (clock, Questions, Uptime)
        self._size_cache: tuple[float, Sample | None] | None = None
        self._replica_error: str | None = None
        self._replica_recheck_seconds = replica_recheck_seconds
        self._no_replica_until: float | None = None  # clock time before which "not a replica" is trusted

    @classmethod
    def from_plan(cls, db: Database, environ: Mapping[str, str] = os.environ, **kwargs: Any) -> MariaDBCollector:
        """Resolve the password from the plan's password_env / password_file (SecretError if unsafe)."""
        return cls(db, read_database_password(db, environ), **kwargs)

    # --- public ------------------------------------------------------------------------------

    @property
    def target(self) -> str:
        """Where the server is, for log lines (no credentials)."""
        if self.db.socket:
            return f"socket {self.db.socket}"
        return f"{self.db.host}:{self.db.port}"

    def collect(self) -> list[Sample]:
        try:
            samples = self._collect_connected()
        except (pymysql.err.MySQLError, OSError) as exc:
            self._close()
            return self._down(exc)
        self._mark_up()
        return samples

    def close(self) -> None:
        self._close()

    # --- connection --------------------------------------------------------------------------

    def _open(self) -> Any:
        return self._connect(**connect_kwargs(self.db, self._password, program_name="opsplan",
                                              read_timeout=self._read_timeout))

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Often already broken; closing is best effort.
            with contextlib.suppress(Exception):
                conn.close()

    def _collect_connected(self) -> list[Sample]:
        reused = self._conn is not None
        if self._conn is None:
            self._conn = self._open()
        try:
            return self._read(self._conn)
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError):
            if not reused:
                raise
        # The kept connection died between cycles (server restart, wait_timeout): one fresh try,
        # so a restart the server survived does not show as a down cycle.
        self._close()
        self._conn = self._open()
        return self._read(self._conn)

    # --- state and logging -------------------------------------------------------------------

    def _down(self, exc: BaseException) -> list[Sample]:
        reason = classify_error(exc)
        if self._state != reason:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            log.warning("MariaDB at %s is down: %s%s", self.target, reason,
                        f" (error {code})" if code else "")
        self._state = reason
        return [
            sample("opsplan_mariadb_up", 0),
            sample("opsplan_mariadb_last_error_info", 1, reason=reason),
        ]

    def _mark_up(self) -> None:
        if self._state is None:
            log.info("MariaDB at %s is up", self.target)
        elif self._state != "up":
            log.info("MariaDB at %s is up again (was: %s)", self.target, self._state)
        self._state = "up"

    # --- reading -----------------------------------------------------------------------------

    @staticmethod
    def _name_values(conn: Any, sql: str, names: tuple[str, ...]) -> dict[str, str]:
        placeholders = ", ".join(["%s"] * len(names))
        with conn.cursor() as cur:
            cur.execute(f"{sql} WHERE Variable_name IN ({placeholders})", names)
            return {str(k).lower(): v for k, v in cur.fetchall()}

    def _read(self, conn: Any) -> list[Sample]:
        status = self._name_values(conn, "SHOW GLOBAL STATUS", _STATUS)
        variables = self._name_values(conn, "SHOW GLOBAL VARIABLES", _VARIABLES)
        now = self._clock()

        out = [sample("opsplan_mariadb_up", 1)]
        version = variables.get("version")
        if version:
            out.append(sample("opsplan_mariadb_info", 1, version=version))

        def num(name: str) -> float | None:
            return _number(status.get(name.lower()))

        uptime = num("Uptime")
        connected = num("Threads_connected")
        max_connections = _number(variables.get("max_connections"))
        questions = num("Questions")
        for metric, value in (
            ("opsplan_mariadb_uptime_seconds", uptime),
            ("opsplan_mariadb_threads_connected", connected),
            ("opsplan_mariadb_threads_running", num("Threads_running")),
            ("opsplan_mariadb_max_connections", max_connections),
            ("opsplan_mariadb_queries_total", questions),
            ("opsplan_mariadb_slow_queries_total", num("Slow_queries")),
            ("opsplan_mariadb_aborted_connects_total", num("Aborted_connects")),
        ):
            if value is not None:
                out.append(sample(metric, value))
        if connected is not None and max_connections:
            out.append(sample("opsplan_mariadb_connection_usage_ratio", connected / max_connections))

        out.extend(self._rate(now, questions, uptime))
        out.extend(self._buffer_pool(num("Innodb_buffer_pool_reads"),
                                     num("Innodb_buffer_pool_read_requests")))
        out.extend(self._replication(conn))
        size = self._size(conn, now)
        if size is not None:
            out.append(size)
        return out

    def _rate(self, now: float, questions: float | None, uptime: float | None) -> list[Sample]:
        previous = self._previous
        if questions is None or uptime is None:
            return []
        self._previous = (now, questions, uptime)
        if previous is None:
            return []
        then, before, uptime_before = previous
        elapsed = now - then
        # A restart resets the counter: no rate across it rather than a negative one.
        if elapsed <= 0 or questions < before or uptime < uptime_before:
            return []
        return [sample("opsplan_mariadb_queries_per_second", (questions - before) / elapsed)]

    @staticmethod
    def _buffer_pool(reads: float | None, requests: float | None) -> list[Sample]:
        out = []
        if requests is not None:
            out.append(sample("opsplan_mariadb_innodb_buffer_pool_read_requests_total", requests))
        if reads is not None:
            out.append(sample("opsplan_mariadb_innodb_buffer_pool_reads_total", reads))
        if reads is not None and requests:
            out.append(sample("opsplan_mariadb_innodb_buffer_pool_hit_ratio",
                              min(1.0, max(0.0, 1.0 - reads / requests))))
        return out

    def _replication(self, conn: Any) -> list[Sample]:
        # SHOW REPLICA STATUS is the costliest read of a cycle (about 60 columns); when the plan
        # expects no replication and the server was not a replica, ask again only now and then.
        if not self.db.replication and self._no_replica_until is not None and self._clock() < self._no_replica_until:
            return [sample("opsplan_mariadb_replication_configured", 0)]
        row: dict[str, Any] | None = None
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute("SHOW REPLICA STATUS")
                row = cur.fetchone()
        except (pymysql.err.ProgrammingError, pymysql.err.InternalError,
                pymysql.err.OperationalError) as exc:
            reason = classify_error(exc)
            if reason in ("connection lost", "timeout"):
                raise
            # Missing SLAVE MONITOR degrades only the replication metrics.
            if self._replica_error != reason:
                log.warning("MariaDB at %s: cannot read replica status: %s", self.target, reason)
                self._replica_error = reason
            return [sample("opsplan_mariadb_replication_configured", 1)] if self.db.replication else []
        self._replica_error = None

        configured = self.db.replication or row is not None
        self._no_replica_until = None if configured else self._clock() + self._replica_recheck_seconds
        out = [sample("opsplan_mariadb_replication_configured", 1 if configured else 0)]
        if not configured:
            return out
        row = row or {}

        def col(*names: str) -> Any:
            for name in names:
                if name in row:
                    return row[name]
            return None

        out.append(sample("opsplan_mariadb_replication_io_running",
                          _running(col("Slave_IO_Running", "Replica_IO_Running"))))
        out.append(sample("opsplan_mariadb_replication_sql_running",
                          _running(col("Slave_SQL_Running", "Replica_SQL_Running"))))
        lag = _number(col("Seconds_Behind_Master", "Seconds_Behind_Source"))
        if lag is not None:
            out.append(sample("opsplan_mariadb_replication_lag_seconds", lag))
        return out

    def _size(self, conn: Any, now: float) -> Sample | None:
        # Walking a datadir or summing information_schema is not free: once per few minutes.
        cached = self._size_cache
        if cached is not None and now - cached[0] < self._size_cache_seconds:
            return cached[1]
        total = directory_bytes(self.db.datadir) if self.db.datadir.is_dir() else None
        result = sample("opsplan_mariadb_datadir_bytes", total) if total is not None else self._table_bytes(conn)
        self._size_cache = (now, result)
        return result

    def _table_bytes(self, conn: Any) -> Sample | None:
        # InnoDB's tablespace list needs only PROCESS and covers every schema; information_schema
        # TABLES shows only tables the monitor user was granted, so it is the second choice.
        for sql in (
            "SELECT SUM(file_size) FROM information_schema.INNODB_SYS_TABLESPACES"
            " WHERE name <> 'innodb_temporary'",
            "SELECT SUM(data_length + index_length) FROM information_schema.TABLES"
            " WHERE table_schema NOT IN ('information_schema', 'performance_schema')",
        ):
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    fetched = cur.fetchone()
            except (pymysql.err.ProgrammingError, pymysql.err.InternalError,
                    pymysql.err.OperationalError) as exc:
                reason = classify_error(exc)
                if reason in ("connection lost", "timeout"):
                    raise
                log.debug("MariaDB at %s: cannot sum data sizes: %s", self.target, reason)
                continue
            value = _number(fetched[0]) if fetched else None
            if value is not None:
                return sample("opsplan_mariadb_data_bytes", value)
        return None
