from __future__ import annotations

from pathlib import Path

from opsplan.mariadb.connection import address, connect_kwargs
from opsplan.plan.models import Database


def test_socket_login_goes_without_tls_and_with_the_plans_timeout():
    db = Database(socket=Path("/run/mysqld/mysqld.sock"), user="ops", connect_timeout=3)

    params = connect_kwargs(db, "pw", program_name="opsplan-test")

    assert params["unix_socket"] == "/run/mysqld/mysqld.sock" and "host" not in params
    assert params["ssl_disabled"] is True and params["connect_timeout"] == 3.0
    assert params["user"] == "ops" and params["password"] == "pw" and params["program_name"] == "opsplan-test"
    assert "read_timeout" not in params  # a long CHECKSUM TABLE is not cut off unless asked
    assert address(db) == "/run/mysqld/mysqld.sock"


def test_remote_host_keeps_tls_and_a_zero_timeout_is_raised_to_what_pymysql_accepts():
    db = Database(host="db.example.net", port=3307, connect_timeout=0)

    params = connect_kwargs(db, None, program_name="opsplan", read_timeout=0)

    assert (params["host"], params["port"]) == ("db.example.net", 3307) and "ssl_disabled" not in params
    assert params["password"] == "" and params["connect_timeout"] == 0.5
    assert params["read_timeout"] == params["write_timeout"] == 0.5
    assert address(db) == "db.example.net:3307"
    assert connect_kwargs(Database(host="127.0.0.1"), None, program_name="x")["ssl_disabled"] is True
