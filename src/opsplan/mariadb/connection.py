"""The one place PyMySQL connect arguments for the plan's MariaDB login are built.

The collector, the backup engine's server access and the restore runbook's checks all log in as
`plan.database` says: the socket when one is named, else host and port; TLS off where it protects
nothing (a socket or a loopback address); the plan's `connect_timeout`. The result carries the
password: hand it to `pymysql.connect` and never log it.
"""

from __future__ import annotations

from typing import Any

from opsplan.net import is_loopback
from opsplan.plan.models import Database

# pymysql rejects a timeout of 0; a plan's "0s" would otherwise break every login.
MIN_TIMEOUT = 0.5


def connect_kwargs(db: Database, password: str | None, *, program_name: str,
                   read_timeout: float | None = None) -> dict[str, Any]:
    """Keyword arguments for `pymysql.connect`. `read_timeout` (also used for writes) is set only
    when given: a long CHECKSUM TABLE must not be cut off by the login's timeout."""
    params: dict[str, Any] = {
        "user": db.user,
        "password": password or "",
        "connect_timeout": max(float(db.connect_timeout), MIN_TIMEOUT),
        "autocommit": True,
        "charset": "utf8mb4",
        "program_name": program_name,
    }
    if read_timeout is not None:
        params["read_timeout"] = params["write_timeout"] = max(float(read_timeout), MIN_TIMEOUT)
    if db.socket:
        params["unix_socket"] = str(db.socket)
    else:
        params["host"], params["port"] = db.host, db.port
    if db.socket or is_loopback(db.host):
        # PyMySQL prefers TLS and builds a fresh SSL context (loading the system's CA store) on
        # every connect: tens of ms of CPU per reconnect, to protect nothing on this host.
        params["ssl_disabled"] = True
    return params


def address(db: Database) -> str:
    """Where the server is, for messages (no credentials): the socket path or host:port."""
    return str(db.socket) if db.socket else f"{db.host}:{db.port}"
