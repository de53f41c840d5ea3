"""Point-in-time restore into another datadir when the restored root has a password (the usual case).

The checks and the binlog replay must not depend on the restored grants: they run on a socket-only
`--skip-grant-tables` scratch server, and `--target-port` then starts the checked copy on its port
with its own grants.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import test_backup_db
import test_restore_db
from test_restore_db import insert_rows, run_restore
from test_restore_db_target import target_base  # noqa: F401 - the fixture

from mariadb_server import free_port
from opsplan.backup.binlogs.archive import archive_binlogs
from opsplan.runbooks.restore.scratch import SCRATCH_USER, ScratchServer

pytestmark = pytest.mark.mariadb

setup_factory = test_backup_db.setup_factory
restore_setup = test_restore_db.restore_setup

ROOT_PASSWORD = "root-secret-Zq81"  # noqa: S105 - a throwaway server's


def restored(base: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the restored datadir without its grants (its root has a password)."""
    with ScratchServer(base / "data", base_dir=base / "reader", grants="skip") as server:
        conn = server.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            conn.close()


@pytest.mark.parametrize("with_port", [False, True], ids=["socket", "target-port"])
def test_point_in_time_restore_with_a_root_password(restore_setup, target_base, with_port):  # noqa: F811
    setup, _ = restore_setup()
    server = setup.server
    for host in ("localhost", "127.0.0.1"):  # what binlog archiving adds to the backup grants
        server.execute(f"GRANT REPLICATION SLAVE ON *.* TO 'backup'@'{host}'")
    insert_rows(server, 1, 3)
    [(hashed,)] = server.execute("SELECT PASSWORD(%s)", (ROOT_PASSWORD,))
    conn = server.root_connect()
    with conn.cursor() as cur:  # one session: the next login needs the password
        for host in ("localhost", "127.0.0.1"):
            cur.execute(f"ALTER USER 'root'@'{host}' IDENTIFIED BY PASSWORD %s", (hashed,))
    try:
        assert setup.engine().run("full").status == "ok"
        with conn.cursor() as cur:
            cur.execute("INSERT INTO shop.orders VALUES (1001, 'row A')")
            between = time.time()
            time.sleep(1.1)
            cur.execute("INSERT INTO shop.orders VALUES (1002, 'row B')")
        archive_binlogs(setup.plan, setup.state, environ=setup.environ)
        params = {"time": between, "time_text": "between A and B", "target_datadir": str(target_base / "data")}
        port = free_port()
        if with_port:
            params["target_port"] = port

        outcome = run_restore(setup, params)

        assert outcome.status == "ok", (outcome.failed_step, outcome.reason)
        assert outcome.data["replayed_binlogs"] >= 1 and outcome.data["integrity_after_replay"]["ok"]
        restart = next(s for s in outcome.steps if s["name"] == "restart_service")
        assert (f"127.0.0.1:{port}" in restart["output"]) is with_port
        assert [int(r[0]) for r in restored(target_base, "SELECT id FROM shop.orders ORDER BY id")] == [1, 2, 3, 1001]
        # The restored grants are the backup's, untouched: root keeps its password, no helper user.
        users = restored(target_base, "SELECT user, authentication_string FROM mysql.user"
                                      " WHERE host IN ('localhost', '127.0.0.1')"
                                      f" AND user IN ('root', '{SCRATCH_USER}')")
        assert {str(u) for u, _ in users} == {"root"} and {str(a) for _, a in users} == {str(hashed)}
    finally:
        with conn.cursor() as cur:  # the fixture's teardown logs in as root without a password
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"ALTER USER 'root'@'{host}' IDENTIFIED BY ''")
        conn.close()
