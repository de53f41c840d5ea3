"""The audit's MariaDB checks, as the plan's own user sees the server:
OPS-DB-001 anonymous accounts, OPS-DB-002 root reachable from another host, OPS-DB-003 accounts
with an empty password (from mysql.user: the plan's user reads it with its documented SELECT), and
OPS-DB-004 the plan's user holding more than the documented least privileges (SHOW GRANTS)."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterable, Mapping
from typing import Any

import pymysql

from opsplan.checks.audit import AuditFinding, skipped
from opsplan.checks.model import FAIL, PASS, Line
from opsplan.mariadb.connection import address, connect_kwargs
from opsplan.mariadb.errors import classify_error
from opsplan.plan.models import Database
from opsplan.plan.secrets import read_database_password

DB_CHECKS = ("OPS-DB-001", "OPS-DB-002", "OPS-DB-003", "OPS-DB-004")
# What README.md and docs/install.md grant opsplan's user (monitoring, mariabackup, binlog archiving,
# table checksums); tests/unit/test_checks_audit.py holds this to the GRANT line in the README.
DOCUMENTED_PRIVILEGES = frozenset({"PROCESS", "SLAVE MONITOR", "RELOAD", "LOCK TABLES", "BINLOG MONITOR",
                                   "REPLICATION SLAVE", "SELECT"})
# Names the server may print for the same privilege (10.5+ renamed some).
_SAME = {"REPLICA MONITOR": "SLAVE MONITOR", "REPLICATION CLIENT": "BINLOG MONITOR",
         "REPLICATION REPLICA": "REPLICATION SLAVE"}
# Plugins whose empty authentication string means "no password" (unix_socket, gssapi ... need none).
_PASSWORD_PLUGINS = {"", "mysql_native_password", "mysql_old_password", "ed25519", "parsec"}
_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<scope>\S+) TO .*?(?P<option>WITH GRANT OPTION)?$", re.I)
_ROLE_GRANT = re.compile(r"^GRANT (`[^`]*`|'[^']*')(?:@\S+)? TO ", re.I)


def connect(db: Database, environ: Mapping[str, str]) -> Any:
    """The plan's login (password from password_env or password_file), as the collector logs in."""
    password = read_database_password(db, environ)
    return pymysql.connect(**connect_kwargs(db, password, program_name="opsplan-checks"))


def local_hosts() -> set[str]:
    names = {"localhost", "127.0.0.1", "::1", socket.gethostname()}
    with contextlib.suppress(OSError):
        names.add(socket.getfqdn())
    return {n.lower() for n in names}


def accounts(conn: Any) -> list[dict[str, str]]:
    """Every account of mysql.user; `locked` from mysql.global_priv (10.4+: the view lacks it)."""
    def text(value: object) -> str:
        return "" if value is None else value.decode() if isinstance(value, bytes) else str(value)

    with conn.cursor() as cur:
        cur.execute("SELECT User, Host, plugin, authentication_string, Password, is_role FROM mysql.user")
        columns = ["user", "host", "plugin", "auth", "password", "is_role"]
        rows = [{c: text(v) for c, v in zip(columns, row, strict=True)} for row in cur.fetchall()]
        locked: set[tuple[str, str]] = set()
        try:
            cur.execute("SELECT User, Host FROM mysql.global_priv "
                        "WHERE JSON_VALUE(Priv, '$.account_locked') IN ('1', 'true')")
            locked = {(text(u), text(h)) for u, h in cur.fetchall()}
        except pymysql.Error:
            pass  # before 10.4: no global_priv, and no locked accounts to tell apart
    for row in rows:
        row["locked"] = "Y" if (row["user"], row["host"]) in locked else "N"
    return rows


def _named(rows: Iterable[dict[str, str]]) -> str:
    return ", ".join(f"'{r['user']}'@'{r['host']}'" for r in rows)


def check_accounts(rows: list[dict[str, str]], here: set[str]) -> list[AuditFinding]:
    users = [r for r in rows if r["is_role"].upper() != "Y"]
    anonymous = [r for r in users if r["user"] == ""]
    remote_root = [r for r in users if r["user"] == "root" and r["host"].lower() not in here]
    empty = [r for r in users if r["plugin"] in _PASSWORD_PLUGINS and not r["auth"] and not r["password"]
             and r["locked"].upper() != "Y"]
    evidence = [f"mysql.user: {len(users)} accounts"]
    return [
        AuditFinding("OPS-DB-001", FAIL, Line("checks.audit.db.anonymous", {"count": len(anonymous),
                                                                            "names": _named(anonymous)}), evidence)
        if anonymous else AuditFinding("OPS-DB-001", PASS, Line("checks.audit.db.no_anonymous", {}), evidence),
        AuditFinding("OPS-DB-002", FAIL, Line("checks.audit.db.remote_root", {"count": len(remote_root),
                                                                              "names": _named(remote_root)}))
        if remote_root else AuditFinding("OPS-DB-002", PASS, Line("checks.audit.db.no_remote_root", {})),
        AuditFinding("OPS-DB-003", FAIL, Line("checks.audit.db.empty_password", {"count": len(empty),
                                                                                 "names": _named(empty)}))
        if empty else AuditFinding("OPS-DB-003", PASS, Line("checks.audit.db.no_empty_password", {})),
    ]


def extra_privileges(grants: Iterable[str]) -> list[str]:
    """What SHOW GRANTS gives beyond DOCUMENTED_PRIVILEGES on *.* (a privilege on a narrower scope
    is named with it, a granted role and WITH GRANT OPTION count too). The grant lines carry the
    password hash: only privilege names leave this function."""
    extra: list[str] = []
    for line in grants:
        role = _ROLE_GRANT.match(line)
        if role:
            extra.append(f"role {role.group(1)}")
            continue
        match = _GRANT.match(line.strip())
        if not match:
            continue
        scope = match.group("scope").replace("`", "")
        for raw in match.group("privileges").split(","):
            name = re.sub(r"\s*\(.*\)$", "", raw.strip().upper())  # SELECT (col) -> SELECT
            name = _SAME.get(name, name)
            # SELECT on one schema is less than the documented SELECT on *.*
            if name in ("USAGE", "SELECT") or (name in DOCUMENTED_PRIVILEGES and scope == "*.*"):
                continue
            extra.append(name if scope == "*.*" else f"{name} ON {scope}")
        if match.group("option"):
            extra.append("GRANT OPTION")
    return sorted(set(extra))


def check_grants(grants: list[str], user: str) -> AuditFinding:
    extra = extra_privileges(grants)
    if extra:
        return AuditFinding("OPS-DB-004", FAIL, Line("checks.audit.db.too_much", {
            "user": user, "privileges": ", ".join(extra)}), [f"beyond the documented: {', '.join(extra)}"])
    return AuditFinding("OPS-DB-004", PASS, Line("checks.audit.db.least", {"user": user}))


def check(db: Database, environ: Mapping[str, str]) -> list[AuditFinding]:
    try:
        conn = connect(db, environ)
    except Exception as exc:  # noqa: BLE001 - down, refused, no password: the four are not-run, said once each
        why = classify_error(exc) if isinstance(exc, pymysql.Error | OSError) else str(exc).splitlines()[0][:200]
        return [skipped(c, Line("checks.audit.db.unreachable", {"check": c, "where": address(db), "detail": why}))
                for c in DB_CHECKS]
    try:
        findings: list[AuditFinding] = []
        try:
            findings += check_accounts(accounts(conn), local_hosts())
        except pymysql.Error as exc:
            findings += [skipped(c, Line("checks.audit.db.no_access", {"check": c, "detail": classify_error(exc)}))
                         for c in DB_CHECKS[:3]]
        with conn.cursor() as cur:
            cur.execute("SHOW GRANTS")
            findings.append(check_grants([str(row[0]) for row in cur.fetchall()], db.user))
        return findings
    finally:
        conn.close()
