"""A throwaway MariaDB server for tests: its own datadir, socket, free port and binlog.

Nothing here touches the machine's own MariaDB: no defaults files are read (`--no-defaults`),
the socket lives in a private temp dir and the port comes from the kernel.

Typical use (the `mariadb_server` fixture in conftest.py does this once per session):

    server = MariaDBServer()
    server.start()            # install-db on first start, then mariadbd, wait, create users
    conn = server.root_connect()
    ...
    server.stop()             # clean shutdown (SIGTERM), SIGKILL if it hangs
    server.start()            # same datadir, same port again
    server.kill()             # SIGKILL, for crash-recovery tests
    server.cleanup()          # stops it and removes the temp dir

Backup/restore tests can `stop()`, replace `server.datadir`, and `start()` again: install-db
only runs when the datadir holds no `mysql` schema yet.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

import pymysql

MONITOR_USER = "opsplan"
# What the collector needs and no more: PROCESS for other sessions' threads and InnoDB status,
# SLAVE MONITOR (alias REPLICA MONITOR since 10.5.9) for SHOW REPLICA STATUS.
MONITOR_GRANTS = "PROCESS, SLAVE MONITOR"

# Unix sockets have a 108-byte path limit; pytest's tmp_path can exceed it, so the default is
# a short mkdtemp under /tmp.
_SOCKET_PATH_MAX = 100


_LIVE: weakref.WeakSet[MariaDBServer] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    # An interrupted test run must not leave mariadbd processes behind.
    for server in list(_LIVE):
        server.kill()


class MariaDBNotInstalled(RuntimeError):
    """mariadbd or mariadb-install-db is not on this machine."""


class MariaDBStartError(RuntimeError):
    """The server did not come up; the message carries the error log's tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listened on a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_binary(name: str) -> str | None:
    # Debian puts mariadbd in /usr/sbin, which is not on every user's PATH.
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    return found


def binaries_available() -> tuple[bool, str]:
    """(True, "") when a server can be started here, else (False, why)."""
    missing = [b for b in ("mariadbd", "mariadb-install-db") if find_binary(b) is None]
    if missing:
        return False, f"{', '.join(missing)} not installed (apt-get install mariadb-server)"
    return True, ""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no error log)"
    return "\n".join(text.splitlines()[-lines:])


class MariaDBServer:
    """One private mariadbd process. All paths live under `base_dir`."""

    def __init__(
        self,
        base_dir: Path | str | None = None,
        *,
        server_id: int = 1,
        extra_args: Sequence[str] = (),
        monitor_password: str | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        ok, why = binaries_available()
        if not ok:
            raise MariaDBNotInstalled(why)
        self._owns_base = base_dir is None
        self.base_dir = Path(base_dir) if base_dir else Path(tempfile.mkdtemp(prefix="opsplan-mdb-"))
        self.datadir = self.base_dir / "data"
        self.binlog_dir = self.base_dir / "binlog"
        self.socket = self.base_dir / "mysqld.sock"
        if len(str(self.socket)) > _SOCKET_PATH_MAX:
            raise ValueError(f"socket path too long for a unix socket: {self.socket}")
        self.pid_file = self.base_dir / "mysqld.pid"
        self.error_log = self.base_dir / "error.log"
        self.slow_log = self.base_dir / "slow.log"
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.server_id = server_id
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.monitor_user = MONITOR_USER
        self.monitor_password = monitor_password or secrets.token_urlsafe(16)
        self._proc: subprocess.Popen[bytes] | None = None
        self._users_created = False

    # --- lifecycle ---------------------------------------------------------------------------

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; as another user, run as that user.
        if os.geteuid() == 0:
            return ["--user=root"]
        return [f"--user={pwd.getpwuid(os.geteuid()).pw_name}"]

    @property
    def tmpdir(self) -> Path:
        # Its own temporary directory: bootstraps running side by side in a shared /tmp have
        # collided on their temporary tables ("Unknown table 'mysql.tmp_proxies_priv'").
        path = self.datadir.parent / f"{self.datadir.name}.tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _common_args(self) -> list[str]:
        # Tiny sizes keep install and start around a second on a 2-core box.
        return [
            f"--tmpdir={self.tmpdir}",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--innodb-log-buffer-size=2M",
            "--key-buffer-size=1M",
            "--performance-schema=OFF",
        ]

    def server_args(self) -> list[str]:
        """The full mariadbd command line (no secrets on it)."""
        return [
            find_binary("mariadbd") or "mariadbd",
            "--no-defaults",
            *self._user_args(),
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            f"--bind-address={self.host}",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.error_log}",
            "--skip-name-resolve",
            # Binlog on, so backup/PITR tests can replay it.
            f"--log-bin={self.binlog_dir / 'mariadb-bin'}",
            "--binlog-format=ROW",
            f"--server-id={self.server_id}",
            "--slow-query-log",
            f"--slow-query-log-file={self.slow_log}",
            "--max-connections=50",
            *self._common_args(),
            *self.extra_args,
        ]

    @property
    def initialized(self) -> bool:
        return (self.datadir / "mysql").is_dir()

    def install(self) -> None:
        """Run mariadb-install-db into an empty datadir."""
        self.datadir.mkdir(parents=True, exist_ok=True)
        cmd = [
            find_binary("mariadb-install-db") or "mariadb-install-db",
            "--no-defaults",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            f"--datadir={self.datadir}",
            *self._user_args(),
            *self._common_args(),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=self.start_timeout, check=False)
        if res.returncode != 0:
            out = "\n".join((res.stdout + res.stderr).splitlines()[-30:])
            raise MariaDBStartError(f"mariadb-install-db failed (rc={res.returncode}):\n{out}")

    def start(self) -> MariaDBServer:
        if self.running:
            return self
        if not self.initialized:
            self.install()
        self.binlog_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # a stale socket from a kill() would make the wait below lie
        log_offset = self.error_log.stat().st_size if self.error_log.exists() else 0
        self._proc = subprocess.Popen(
            self.server_args(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _LIVE.add(self)
        self._wait_ready(log_offset)
        if not self._users_created:
            self._create_users()
        return self

    def _log_since(self, offset: int) -> str:
        try:
            with self.error_log.open("rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no error log)"
        return "\n".join(text.splitlines()[-30:]) or "(error log empty)"

    def _wait_ready(self, log_offset: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            rc = self._proc.poll()
            if rc is not None:
                self._proc = None
                raise MariaDBStartError(
                    f"mariadbd exited with rc={rc} during start:\n{self._log_since(log_offset)}"
                )
            if self.socket.exists():
                try:
                    self.root_connect(connect_timeout=2).close()
                    return
                except pymysql.err.MySQLError as e:
                    last_err = e
            time.sleep(0.05)
        self.kill()
        raise MariaDBStartError(
            f"mariadbd not ready after {self.start_timeout:.0f}s (last error: {last_err!r}):\n"
            f"{self._log_since(log_offset)}"
        )

    def _create_users(self) -> None:
        conn = self.root_connect()
        try:
            with conn.cursor() as cur:
                # 'localhost' matches the socket, '127.0.0.1' TCP (name resolution is off).
                for host in ("localhost", "127.0.0.1"):
                    cur.execute(
                        f"CREATE USER IF NOT EXISTS '{self.monitor_user}'@'{host}' IDENTIFIED BY %s",
                        (self.monitor_password,),
                    )
                    cur.execute(f"GRANT {MONITOR_GRANTS} ON *.* TO '{self.monitor_user}'@'{host}'")
                # root over TCP, for tools (mariabackup, clients) that do not use the socket.
                cur.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
                cur.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
        finally:
            conn.close()
        self._users_created = True

    @property
    def pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        return None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def stop(self, timeout: float = 30.0) -> None:
        """Clean shutdown (SIGTERM flushes InnoDB); SIGKILL if it does not exit in time."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL: the datadir is left as after a crash."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        self._proc = None

    def cleanup(self) -> None:
        self.stop()
        if self._owns_base:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> MariaDBServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # --- clients -----------------------------------------------------------------------------

    def root_connect(self, database: str | None = None, **kwargs: object) -> pymysql.connections.Connection:
        """A root connection over the socket (root has no password on a throwaway server)."""
        params: dict[str, object] = {
            "unix_socket": str(self.socket),
            "user": "root",
            "password": "",
            "autocommit": True,
            "connect_timeout": 5,
        }
        if database:
            params["database"] = database
        params.update(kwargs)
        return pymysql.connect(**params)

    def execute(self, sql: str, args: object = None) -> list[tuple[object, ...]]:
        """Run one statement as root, return its rows."""
        conn = self.root_connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()

    def client_args(self) -> list[str]:
        """Arguments for the `mariadb` / `mariadb-backup` clients to reach this server as root."""
        return ["--no-defaults", f"--socket={self.socket}", "--user=root"]

    def error_log_tail(self, lines: int = 30) -> str:
        return _tail(self.error_log, lines)

    def database_plan_fields(self, *, use_socket: bool = False) -> dict[str, object]:
        """Keyword arguments for `opsplan.plan.models.Database` pointing at this server."""
        fields: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.monitor_user,
            "datadir": self.datadir,
            "password_env": None,
        }
        if use_socket:
            fields["socket"] = self.socket
        return fields
