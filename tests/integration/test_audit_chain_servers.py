"""The audit chain on every state database opsplan supports: SQLite, PostgreSQL and MariaDB.

Concurrent writers (threads, each its own connection) must queue on the head row's lock and leave
one unbroken chain; a float time and UTF-8 text must hash the same after a round trip through the
server's types; an edit made in SQL must be named. The servers are this machine's shared ones, as
in test_schema_truth.py: a throwaway database `opsplan_audit_<hex>` is created there and dropped.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from opsplan import audit
from opsplan.audit.log import CHANGED
from opsplan.store.state import StateDB

SERVERS = {
    "postgresql": ("OPSPLAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": ("OPSPLAN_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[StateDB]:
    kind = request.param
    if kind == "sqlite":
        state = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
        yield state
        state.close()
        return
    env, default = SERVERS[kind]
    server = make_url(os.environ.get(env) or default)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"opsplan_audit_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - no server here is a skip, not a failure
        admin.dispose()
        pytest.skip(f"{kind} server not usable: {str(exc).splitlines()[0]}")
    state = None
    try:
        state = StateDB.open(server.set(database=name).render_as_string(hide_password=False))
        yield state
    finally:
        if state is not None:
            state.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def test_concurrent_writers_leave_one_chain_and_an_edit_is_named(db: StateDB):
    errors: list[BaseException] = []

    def write(who: str) -> None:
        try:
            for i in range(10):
                audit.record(db, who, "alert.ack", f"경보 {i}", {"comment": "재시작 중 ✓", "n": i / 3},
                             at=1_800_000_000.123456 + i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"user{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = audit.verify(db)
    assert result.ok, result.broken
    assert result.entries == 40
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit SET target = 'x' WHERE id = (SELECT min(id) + 5 FROM "
                                "(SELECT id FROM audit) AS ids)"))
    broken = audit.verify(db).broken
    assert broken is not None and broken.reason == CHANGED
    assert [e for e in audit.entries(db, limit=None) if e["id"] == broken.entry_id][0]["target"] == "x"
