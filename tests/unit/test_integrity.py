"""Integrity checks of a restored database against a throwaway server (its own schema per test)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from mariadb_server import MariaDBServer
from opsplan.errors import RunbookError
from opsplan.runbooks.restore.capture import scan_tables
from opsplan.runbooks.restore.integrity import TableCapture, check_integrity

pytestmark = pytest.mark.mariadb


@pytest.fixture
def shop(mariadb_server: MariaDBServer) -> Iterator[str]:
    schema = f"shop_{secrets.token_hex(4)}"
    mariadb_server.execute(f"CREATE DATABASE {schema}")
    mariadb_server.execute(f"CREATE TABLE {schema}.orders (id INT PRIMARY KEY, note VARCHAR(50)) ENGINE=InnoDB")
    mariadb_server.execute(f"CREATE TABLE {schema}.customers (id INT PRIMARY KEY, name VARCHAR(50)) ENGINE=InnoDB")
    mariadb_server.execute(f"CREATE TABLE {schema}.legacy (id INT PRIMARY KEY) ENGINE=MyISAM")
    mariadb_server.execute(f"CREATE VIEW {schema}.v AS SELECT id FROM {schema}.orders")
    mariadb_server.execute(f"INSERT INTO {schema}.orders VALUES " + ",".join(f"({i}, 'o{i}')" for i in range(20)))
    mariadb_server.execute(f"INSERT INTO {schema}.customers VALUES (1, 'kim'), (2, 'lee')")
    mariadb_server.execute(f"INSERT INTO {schema}.legacy VALUES (1), (2), (3)")
    yield schema
    mariadb_server.execute(f"DROP DATABASE {schema}")


def params(server: MariaDBServer) -> dict[str, Any]:
    return {"unix_socket": str(server.socket), "user": "root", "password": "", "autocommit": True}


def capture(server: MariaDBServer, schema: str) -> list[TableCapture]:
    """What a backup's capture records, through the capture's own scan."""
    return scan_tables(params(server), 1 << 30, databases=[schema])


def test_an_unchanged_database_passes_with_every_table_compared(mariadb_server, shop):
    expected = capture(mariadb_server, shop)
    report = check_integrity(params(mariadb_server), expected, databases=[shop])
    assert report.ok, report.summary()
    by_name = {t.name: t for t in report.tables}
    assert set(by_name) == {f"{shop}.orders", f"{shop}.customers", f"{shop}.legacy"}  # the view is no table
    orders = by_name[f"{shop}.orders"]
    assert (orders.check_status, orders.rows_expected, orders.rows_actual) == ("OK", 20, 20)
    assert orders.checksum_actual == orders.checksum_expected is not None
    assert report.as_dict()["checked"] == 3 and report.as_dict()["failed"] == 0


def test_a_modified_row_is_a_checksum_mismatch_of_that_table_only(mariadb_server, shop):
    expected = capture(mariadb_server, shop)
    mariadb_server.execute(f"UPDATE {shop}.orders SET note = 'changed' WHERE id = 7")
    report = check_integrity(params(mariadb_server), expected, databases=[shop])
    assert not report.ok
    assert [t.name for t in report.failures] == [f"{shop}.orders"]
    failed = report.failures[0]
    assert failed.rows_actual == failed.rows_expected == 20
    assert failed.checksum_actual != failed.checksum_expected
    assert failed.problems == ["checksum differs from the backup's"]
    assert f"{shop}.orders: checksum differs" in report.summary()


def test_lost_rows_and_a_missing_table_are_named(mariadb_server, shop):
    expected = capture(mariadb_server, shop)
    mariadb_server.execute(f"DELETE FROM {shop}.customers WHERE id = 2")
    mariadb_server.execute(f"DROP TABLE {shop}.legacy")
    report = check_integrity(params(mariadb_server), expected, databases=[shop])
    problems = {t.name: t.problems for t in report.failures}
    assert problems[f"{shop}.customers"][0] == "rows 1 != 2 at backup time"
    assert problems[f"{shop}.legacy"] == ["missing from the restore"]
    assert f"{shop}.orders" not in problems


def test_a_table_without_capture_is_checked_but_not_failed(mariadb_server, shop):
    expected = [c for c in capture(mariadb_server, shop) if c.table != "customers"]
    report = check_integrity(params(mariadb_server), expected, databases=[shop])
    customers = next(t for t in report.tables if t.table == "customers")
    assert report.ok and customers.captured is False and customers.rows_actual == 2


def test_a_corrupt_table_fails_check_table(mariadb_server, shop):
    expected = capture(mariadb_server, shop)
    mariadb_server.execute(f"FLUSH TABLES {shop}.legacy")
    index = mariadb_server.datadir / shop / "legacy.MYI"
    data = bytearray(index.read_bytes())
    data[0:4] = b"\x00\x00\x00\x00"  # the index file's magic number
    index.write_bytes(bytes(data))
    mariadb_server.execute("FLUSH TABLES")
    report = check_integrity(params(mariadb_server), expected, databases=[shop])
    legacy = next(t for t in report.tables if t.table == "legacy")
    assert not legacy.ok and legacy.check_status != "OK"
    assert any(p.startswith("CHECK TABLE") or p.startswith("unreadable") for p in legacy.problems)


def test_an_unreachable_server_is_one_line(tmp_path):
    with pytest.raises(RunbookError, match="cannot connect to the restored server"):
        check_integrity({"unix_socket": str(tmp_path / "none.sock"), "user": "root", "connect_timeout": 2}, [])
