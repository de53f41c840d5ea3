"""MariaDBCollector against throwaway MariaDB servers (never the machine's own on :3306)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest

from mariadb_server import MariaDBServer, free_port
from opsplan.collectors.base import Collector
from opsplan.collectors.mariadb import METRICS, MariaDBCollector
from opsplan.metrics import Sample
from opsplan.plan.models import Database

pytestmark = pytest.mark.mariadb

LOGGER = "opsplan.collectors.mariadb"
Factory = Callable[..., MariaDBServer]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def by_name(samples: list[Sample]) -> dict[str, Sample]:
    return {s.name: s for s in samples}


def value(samples: list[Sample], name: str) -> float:
    found = by_name(samples)
    assert name in found, f"{name} missing from {sorted(found)}"
    return found[name].value


def make(server: MariaDBServer, *, password: str | None = None, clock: FakeClock | None = None,
         use_socket: bool = False, **fields: object) -> MariaDBCollector:
    plan = {**server.database_plan_fields(use_socket=use_socket), "connect_timeout": 3.0, **fields}
    db = Database(**plan)  # type: ignore[arg-type]
    pw = server.monitor_password if password is None else password
    return MariaDBCollector(db, pw, clock=clock or FakeClock())


@pytest.fixture
def collector(mariadb_server: MariaDBServer) -> Iterator[MariaDBCollector]:
    c = make(mariadb_server)
    yield c
    c.close()


def assert_declared(samples: list[Sample]) -> None:
    for s in samples:
        spec = METRICS.get(s.name)
        assert spec is not None, f"{s.name} not declared in METRICS"
        assert tuple(k for k, _ in s.labels) == tuple(sorted(spec.labels)), s


def test_up_with_version_and_connections(collector: MariaDBCollector, mariadb_server: MariaDBServer) -> None:
    assert isinstance(collector, Collector)
    samples = collector.collect()
    assert_declared(samples)
    assert value(samples, "opsplan_mariadb_up") == 1
    (version,) = mariadb_server.execute("SELECT VERSION()")[0]
    assert by_name(samples)["opsplan_mariadb_info"].label("version") == version
    assert value(samples, "opsplan_mariadb_uptime_seconds") >= 0
    connected = value(samples, "opsplan_mariadb_threads_connected")
    assert connected >= 1  # at least the collector itself
    assert value(samples, "opsplan_mariadb_threads_running") >= 1
    assert value(samples, "opsplan_mariadb_max_connections") == 50  # the helper's setting
    assert value(samples, "opsplan_mariadb_connection_usage_ratio") == pytest.approx(connected / 50)
    assert "opsplan_mariadb_last_error_info" not in by_name(samples)


def test_unix_socket_connection(mariadb_server: MariaDBServer) -> None:
    c = make(mariadb_server, use_socket=True, host="192.0.2.1")  # the socket wins over the host
    try:
        assert value(c.collect(), "opsplan_mariadb_up") == 1
    finally:
        c.close()


def test_password_from_the_plans_environment_variable(mariadb_server: MariaDBServer) -> None:
    fields = {**mariadb_server.database_plan_fields(), "password_env": "OPSPLAN_TEST_DB_PW"}
    db = Database(**fields)  # type: ignore[arg-type]
    c = MariaDBCollector.from_plan(db, {"OPSPLAN_TEST_DB_PW": mariadb_server.monitor_password})
    try:
        assert value(c.collect(), "opsplan_mariadb_up") == 1
    finally:
        c.close()


def test_connection_kept_across_cycles(collector: MariaDBCollector, mariadb_server: MariaDBServer) -> None:
    collector.collect()
    first_id = collector._conn.thread_id()
    collector.collect()
    assert collector._conn.thread_id() == first_id


def test_queries_per_second_from_the_injected_clock(mariadb_server: MariaDBServer) -> None:
    clock = FakeClock()
    c = make(mariadb_server, clock=clock)
    try:
        first = c.collect()
        assert "opsplan_mariadb_queries_per_second" not in by_name(first)  # no rate without a past
        conn = mariadb_server.root_connect()
        with conn.cursor() as cur:
            for i in range(40):
                cur.execute("SELECT %s", (i,))
        conn.close()
        clock.now += 10.0
        second = c.collect()
        done = value(second, "opsplan_mariadb_queries_total") - value(first, "opsplan_mariadb_queries_total")
        assert done >= 40
        assert value(second, "opsplan_mariadb_queries_per_second") == pytest.approx(done / 10.0)
        assert value(second, "opsplan_mariadb_queries_per_second") >= 4.0
    finally:
        c.close()


def test_slow_query_counted(collector: MariaDBCollector, mariadb_server: MariaDBServer) -> None:
    before = value(collector.collect(), "opsplan_mariadb_slow_queries_total")
    conn = mariadb_server.root_connect()
    with conn.cursor() as cur:
        cur.execute("SET SESSION long_query_time = 0.05")
        cur.execute("SELECT SLEEP(0.2)")
    conn.close()
    after = value(collector.collect(), "opsplan_mariadb_slow_queries_total")
    assert after >= before + 1


def test_wrong_password_counts_as_aborted_connect(collector: MariaDBCollector,
                                                  mariadb_server: MariaDBServer) -> None:
    before = value(collector.collect(), "opsplan_mariadb_aborted_connects_total")
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(host=mariadb_server.host, port=mariadb_server.port, user="opsplan",
                        password="not-the-password", connect_timeout=3)
    after = value(collector.collect(), "opsplan_mariadb_aborted_connects_total")
    assert after >= before + 1


def test_buffer_pool_hit_ratio(collector: MariaDBCollector, mariadb_server: MariaDBServer) -> None:
    mariadb_server.execute("CREATE DATABASE IF NOT EXISTS bp")
    mariadb_server.execute("CREATE TABLE IF NOT EXISTS bp.t (id INT PRIMARY KEY, v VARCHAR(100))")
    mariadb_server.execute("INSERT IGNORE INTO bp.t SELECT seq, REPEAT('x', 100) FROM bp.seq_1_to_2000")
    mariadb_server.execute("SELECT COUNT(*) FROM bp.t WHERE v LIKE '%y%'")
    samples = collector.collect()
    mariadb_server.execute("DROP DATABASE bp")  # the session server is shared with later suites
    assert value(samples, "opsplan_mariadb_innodb_buffer_pool_read_requests_total") > 0
    assert value(samples, "opsplan_mariadb_innodb_buffer_pool_reads_total") >= 0
    ratio = value(samples, "opsplan_mariadb_innodb_buffer_pool_hit_ratio")
    assert 0.0 <= ratio <= 1.0
    assert ratio > 0.5  # everything fits in the 32M pool


def test_datadir_bytes_of_the_real_datadir(collector: MariaDBCollector, mariadb_server: MariaDBServer) -> None:
    samples = collector.collect()
    size = value(samples, "opsplan_mariadb_datadir_bytes")
    ibdata = (mariadb_server.datadir / "ibdata1").stat().st_size
    assert size > ibdata > 0
    assert "opsplan_mariadb_data_bytes" not in by_name(samples)


def test_datadir_bytes_exact_and_cached(mariadb_server: MariaDBServer, tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "ibdata1").write_bytes(b"x" * 1000)
    (tmp_path / "db" / "t.ibd").write_bytes(b"x" * 234)
    (tmp_path / "link").symlink_to("/usr")  # not followed
    clock = FakeClock()
    c = make(mariadb_server, clock=clock, datadir=tmp_path)
    try:
        assert value(c.collect(), "opsplan_mariadb_datadir_bytes") == 1234
        (tmp_path / "db" / "u.ibd").write_bytes(b"x" * 10)
        clock.now += 60
        assert value(c.collect(), "opsplan_mariadb_datadir_bytes") == 1234  # cached
        clock.now += 300
        assert value(c.collect(), "opsplan_mariadb_datadir_bytes") == 1244
    finally:
        c.close()


def test_data_bytes_when_datadir_not_readable(mariadb_server: MariaDBServer, tmp_path: Path) -> None:
    c = make(mariadb_server, datadir=tmp_path / "not-here")
    try:
        samples = c.collect()
    finally:
        c.close()
    assert "opsplan_mariadb_datadir_bytes" not in by_name(samples)
    ibdata = (mariadb_server.datadir / "ibdata1").stat().st_size
    assert value(samples, "opsplan_mariadb_data_bytes") >= ibdata  # needs only PROCESS


def test_replication_not_configured(collector: MariaDBCollector) -> None:
    samples = collector.collect()
    assert value(samples, "opsplan_mariadb_replication_configured") == 0
    assert "opsplan_mariadb_replication_io_running" not in by_name(samples)
    assert "opsplan_mariadb_replication_lag_seconds" not in by_name(samples)


def test_replication_expected_by_plan_but_absent(mariadb_server: MariaDBServer) -> None:
    c = make(mariadb_server, replication=True)
    try:
        samples = c.collect()
    finally:
        c.close()
    assert value(samples, "opsplan_mariadb_replication_configured") == 1
    assert value(samples, "opsplan_mariadb_replication_io_running") == 0
    assert value(samples, "opsplan_mariadb_replication_sql_running") == 0
    assert "opsplan_mariadb_replication_lag_seconds" not in by_name(samples)


@pytest.mark.slow
def test_real_replica(mariadb_server_factory: Factory) -> None:
    primary = mariadb_server_factory(server_id=11)
    replica = mariadb_server_factory(server_id=12)
    primary.execute("CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY %s", ("repl-pw",))
    primary.execute("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'")
    replica.execute(
        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER='repl',"
        " MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
        (primary.port, "repl-pw"),
    )
    replica.execute("START SLAVE")
    primary.execute("CREATE DATABASE app")
    replica.execute("SELECT MASTER_GTID_WAIT(%s, 30)", (primary.execute("SELECT @@gtid_binlog_pos")[0][0],))
    c = make(replica)  # the plan does not say replication: the server's status does
    try:
        samples = c.collect()
        assert value(samples, "opsplan_mariadb_replication_configured") == 1
        assert value(samples, "opsplan_mariadb_replication_io_running") == 1
        assert value(samples, "opsplan_mariadb_replication_sql_running") == 1
        assert value(samples, "opsplan_mariadb_replication_lag_seconds") >= 0
        replica.execute("STOP SLAVE SQL_THREAD")
        samples = c.collect()
        assert value(samples, "opsplan_mariadb_replication_io_running") == 1
        assert value(samples, "opsplan_mariadb_replication_sql_running") == 0
        assert "opsplan_mariadb_replication_lag_seconds" not in by_name(samples)
    finally:
        c.close()


# --- down ----------------------------------------------------------------------------------------

SECRET = "pw-Secret-4711-do-not-log"


def assert_no_secret(caplog: pytest.LogCaptureFixture, samples: list[Sample]) -> None:
    assert SECRET not in caplog.text
    for record in caplog.records:
        assert SECRET not in record.getMessage()
    for s in samples:
        assert all(SECRET not in v for _, v in s.labels), s


def down_reason(samples: list[Sample]) -> str | None:
    assert value(samples, "opsplan_mariadb_up") == 0
    assert len(samples) == 2, samples  # nothing stale next to up 0
    return by_name(samples)["opsplan_mariadb_last_error_info"].label("reason")


def test_unreachable_port_is_up_0_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    db = Database(host="127.0.0.1", port=free_port(), user="opsplan", password_env=None, connect_timeout=2)
    c = MariaDBCollector(db, SECRET, clock=FakeClock())
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    seen = []
    for _ in range(3):
        samples = c.collect()  # no exception
        assert_declared(samples)
        assert down_reason(samples) == "connection refused"
        seen.extend(samples)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "connection refused" in warnings[0].getMessage()
    assert_no_secret(caplog, seen)


def test_wrong_password_is_access_denied(mariadb_server: MariaDBServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    c = make(mariadb_server, password=SECRET)
    samples = c.collect()
    assert down_reason(samples) == "access denied"
    assert_no_secret(caplog, samples)


def test_missing_socket(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = Database(socket=tmp_path / "no.sock", password_env=None, connect_timeout=2)
    samples = MariaDBCollector(db, SECRET).collect()
    assert down_reason(samples) == "socket not found"
    assert_no_secret(caplog, samples)


def test_silent_peer_is_a_timeout(caplog: pytest.LogCaptureFixture) -> None:
    # The kernel accepts the TCP connection into the backlog; nobody ever sends a greeting.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        db = Database(host="127.0.0.1", port=port, password_env=None, connect_timeout=1)
        samples = MariaDBCollector(db, SECRET).collect()
    assert down_reason(samples) == "timeout"
    assert_no_secret(caplog, samples)


def test_server_stopped_then_started_again(mariadb_server_factory: Factory,
                                           caplog: pytest.LogCaptureFixture) -> None:
    server = mariadb_server_factory()
    caplog.set_level(logging.INFO, logger=LOGGER)
    c = make(server)
    try:
        assert value(c.collect(), "opsplan_mariadb_up") == 1
        server.stop()
        assert down_reason(c.collect()) == "connection refused"
        assert down_reason(c.collect()) == "connection refused"
        server.start()
        assert value(c.collect(), "opsplan_mariadb_up") == 1
    finally:
        c.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("is down" in m for m in messages) == 1
    assert any("up again" in m for m in messages)


def test_restart_between_cycles_is_not_a_down_cycle(mariadb_server_factory: Factory) -> None:
    server = mariadb_server_factory()
    c = make(server)
    try:
        assert value(c.collect(), "opsplan_mariadb_up") == 1
        server.stop()
        server.start()
        # The kept connection is dead; the collector reconnects within the cycle.
        samples = c.collect()
        assert value(samples, "opsplan_mariadb_up") == 1
        assert value(samples, "opsplan_mariadb_uptime_seconds") < 60
    finally:
        c.close()


def test_killed_server_is_down(mariadb_server_factory: Factory) -> None:
    server = mariadb_server_factory()
    c = make(server)
    try:
        assert value(c.collect(), "opsplan_mariadb_up") == 1
        server.kill()
        assert down_reason(c.collect()) in ("connection refused", "connection lost")
        server.start()  # InnoDB crash recovery on the same datadir
        assert value(c.collect(), "opsplan_mariadb_up") == 1
    finally:
        c.close()
