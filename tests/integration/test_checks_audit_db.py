"""The security audit's MariaDB checks against a throwaway server (never the machine's own):
accounts a test creates are found by name, a cleaned server passes, and the plan's user is held to
the privileges the README documents."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable

import pytest

from mariadb_server import MariaDBServer
from opsplan.checks import audit_db, registry
from opsplan.checks.model import FAIL, PASS, CheckContext
from opsplan.i18n import t
from opsplan.plan.models import Plan

pytestmark = pytest.mark.mariadb

Factory = Callable[..., MariaDBServer]
USER = "auditor"
DOCUMENTED = "PROCESS, SLAVE MONITOR, RELOAD, LOCK TABLES, BINLOG MONITOR, REPLICATION SLAVE, SELECT"


def _plan_user(server: MariaDBServer) -> tuple[Plan, dict[str, str]]:
    """A login like opsplan's: the documented grants, its password in the environment."""
    password = secrets.token_urlsafe(12)
    server.execute(f"CREATE USER '{USER}'@'localhost' IDENTIFIED BY %s", (password,))
    server.execute(f"GRANT {DOCUMENTED} ON *.* TO '{USER}'@'localhost'")
    plan = Plan(database={"socket": server.socket, "user": USER, "password_env": "AUDIT_TEST_PW"})
    return plan, {"AUDIT_TEST_PW": password}


def _clean(server: MariaDBServer) -> str:
    """Remove what a fresh test install leaves (root over TCP and by host name, without a password)."""
    for host in ("127.0.0.1", "::1", socket.gethostname()):
        server.execute(f"DROP USER IF EXISTS 'root'@'{host}'")
    password = secrets.token_urlsafe(12)
    server.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (password,))
    return password


def by_check(findings: list[audit_db.AuditFinding]) -> dict[str, audit_db.AuditFinding]:
    return {f.check_id: f for f in findings}


def test_an_anonymous_user_and_a_remote_root_are_found_by_name(mariadb_server_factory: Factory):
    server = mariadb_server_factory()
    plan, environ = _plan_user(server)
    root_password = _clean(server)
    clean = by_check(audit_db.check(plan.database, environ))
    assert {c: f.status for c, f in clean.items()} == {c: PASS for c in audit_db.DB_CHECKS}, clean

    conn = server.root_connect(password=root_password)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE USER ''@'localhost'")
            cur.execute("CREATE USER 'root'@'%%' IDENTIFIED BY %s", (secrets.token_urlsafe(12),))
    finally:
        conn.close()
    found = by_check(audit_db.check(plan.database, environ))
    assert found["OPS-DB-001"].status == FAIL and found["OPS-DB-001"].line.values["names"] == "''@'localhost'"
    assert found["OPS-DB-002"].status == FAIL and found["OPS-DB-002"].line.values["names"] == "'root'@'%'"
    # the anonymous account has no password either; root@% has one
    assert found["OPS-DB-003"].status == FAIL and found["OPS-DB-003"].line.values["names"] == "''@'localhost'"
    assert "'root'@'%'" in t(found["OPS-DB-002"].line.key, "ko", **found["OPS-DB-002"].line.values)
    assert found["OPS-DB-004"].status == PASS


def test_the_plan_users_extra_privileges_fail_and_the_quarterly_items_read_the_server(
        mariadb_server_factory: Factory, tmp_path):
    server = mariadb_server_factory()
    plan, environ = _plan_user(server)
    server.execute(f"GRANT SUPER, CREATE USER ON *.* TO '{USER}'@'localhost'")
    server.execute(f"GRANT INSERT ON mysql.* TO '{USER}'@'localhost'")
    now = time.time()
    ctx = CheckContext(plan=plan, period="quarterly", start=now - 90 * 86400, end=now, now=now, environ=environ,
                       data_dir=tmp_path)
    result = registry.evaluate("security.audit", ctx)
    texts = [t(f.key, "en", **f.values) for f in result.findings]
    too_much = next(text for text in texts if text.startswith("OPS-DB-004"))
    assert too_much == ("OPS-DB-004 failed: the user auditor holds more than the documented least privileges: "
                        "CREATE USER, INSERT ON mysql.*, SUPER")
    assert result.status == FAIL
    assert any(text.startswith("OPS-DB-002 passed") for text in texts)
    assert environ["AUDIT_TEST_PW"] not in str(result.to_dict())
    updates = registry.evaluate("updates.major", ctx)
    mariadb = next(t(f.key, "en", **f.values) for f in updates.findings if "MariaDB" in t(f.key, "en", **f.values))
    assert mariadb.startswith("MariaDB 10.11") or mariadb.startswith("MariaDB 1"), mariadb
    assert "not checked" not in mariadb


def test_a_server_that_is_down_leaves_the_database_checks_not_run(mariadb_server_factory: Factory):
    server = mariadb_server_factory()
    plan, environ = _plan_user(server)
    server.stop()
    findings = audit_db.check(plan.database, environ)
    assert [f.status for f in findings] == ["not-run"] * 4
    assert "cannot log in to MariaDB" in t(findings[0].line.key, "en", **findings[0].line.values)
