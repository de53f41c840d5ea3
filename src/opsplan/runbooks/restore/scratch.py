"""A scratch MariaDB server on a restored (prepared, copied-back) datadir, for drills and restore checks.

It never touches the running database: its own datadir, socket, pid file, error log and port, no
option files (`--no-defaults`), bound to 127.0.0.1. A restored datadir is a copy of production, so
the server starts with what could act on its own switched off: no replication threads
(`--skip-slave-start`), no event scheduler, no binary log.

Access (`grants`):
- "skip" (default): `--skip-grant-tables` and no TCP at all; the socket lives in a 0700 directory,
  so only this user can connect. The drill needs no production password and leaves the restored
  `mysql` schema exactly as backed up.
- "temporary-user": TCP on 127.0.0.1:port; an `--init-file` (an in-memory file the server reads as
  /dev/fd/N, never on disk) creates a user with a random password that `connect_params()` carries.
  Changes `mysql.global_priv` in the restored copy: for scratch copies only.
- "keep": TCP on 127.0.0.1:port with the restored grants; `connect_params()` is root over the
  socket (unix_socket authentication when this process runs as root, as Debian installs it). The
  restored root usually has a password this process does not know, so a refused login counts as
  "answers"; nothing that needs a login (checks, binlog replay) runs on a "keep" server.

    with ScratchServer(datadir, base_dir=work) as server:
        conn = pymysql.connect(**server.connect_params())
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket as socketlib
import subprocess
import time
from pathlib import Path
from typing import Any, Literal

import pymysql

from opsplan.errors import RunbookError, said
from opsplan.fsutil import private_dir
from opsplan.mariadb.credentials import MemoryFile, memory_file

Grants = Literal["skip", "temporary-user", "keep"]
SCRATCH_USER = "opsplan_scratch"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes
_ACCESS_DENIED = (1045, 1698)  # ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR


def free_port(host: str = "127.0.0.1") -> int:
    with socketlib.socket(socketlib.AF_INET, socketlib.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_mariadbd() -> str:
    # Debian puts mariadbd in /usr/sbin, which is not on every user's PATH.
    found = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        raise said(RunbookError, "reason.no_mariadbd")
    return found


def _one_line_tail(path: Path, offset: int, lines: int = 4) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "no error log"
    wanted = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in wanted if "[ERROR]" in line] or wanted
    return " | ".join(errors[-lines:])[:600] or "error log empty"


class ScratchServer:
    """One private mariadbd on an existing datadir. Paths it creates live under `base_dir`."""

    def __init__(
        self,
        datadir: Path,
        *,
        base_dir: Path,
        port: int | None = None,
        socket: Path | None = None,
        user: str | None = None,
        grants: Grants = "skip",
        buffer_pool: str = "128M",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.datadir = Path(datadir)
        self.base_dir = Path(base_dir)
        self.grants: Grants = grants
        self.host = "127.0.0.1"
        self.port: int | None = None if grants == "skip" else (port or free_port(self.host))
        self.socket = Path(socket) if socket else self.base_dir / "mysqld.sock"
        if len(str(self.socket)) > _SOCKET_PATH_MAX:
            raise RunbookError(f"socket path too long for a unix socket (max {_SOCKET_PATH_MAX}): {self.socket}")
        self.pid_file = self.base_dir / "mysqld.pid"
        self.error_log = self.base_dir / "error.log"
        self.user = user or pwd.getpwuid(os.geteuid()).pw_name
        self.buffer_pool = buffer_pool
        self.extra_args = extra_args
        self._password = secrets.token_urlsafe(18) if grants == "temporary-user" else ""
        self._proc: subprocess.Popen[bytes] | None = None

    # --- command line ------------------------------------------------------------------------

    def server_args(self, init_file: MemoryFile | None = None) -> list[str]:
        """The mariadbd command line; no secret on it (the temporary password is in the init file)."""
        args = [
            find_mariadbd(), "--no-defaults", f"--user={self.user}",
            f"--datadir={self.datadir}", f"--socket={self.socket}",
            f"--pid-file={self.pid_file}", f"--log-error={self.error_log}",
            "--skip-name-resolve", "--skip-slave-start", "--event-scheduler=DISABLED", "--skip-log-bin",
            f"--innodb-buffer-pool-size={self.buffer_pool}", "--performance-schema=OFF",
        ]
        if self.grants == "skip":
            args += ["--skip-grant-tables", "--skip-networking"]
        else:
            args += ["--skip-networking=0", f"--bind-address={self.host}", f"--port={self.port}"]
        if init_file is not None:
            args.append(f"--init-file={init_file.path}")
        return args + list(self.extra_args)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self, timeout: float = 300.0) -> ScratchServer:
        """Start and wait until it answers a query; RunbookError (with the error log's tail) if not."""
        if self.running:
            return self
        if not (self.datadir / "mysql").is_dir():
            raise said(RunbookError, "reason.not_a_datadir", path=self.datadir)
        private_dir(self.base_dir)
        private_dir(self.socket.parent)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # a stale socket would make the wait below lie
        offset = self.error_log.stat().st_size if self.error_log.exists() else 0
        # The server reads the init file once it is up; it holds its own descriptor, so ours closes
        # when the wait ends and the password is on no disk at any point, even if this process is killed.
        holder = memory_file(self._init_statements(), "opsplan-scratch-init") \
            if self.grants == "temporary-user" else contextlib.nullcontext(None)
        with holder as init:
            try:
                self._proc = subprocess.Popen(self.server_args(init), stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                              pass_fds=init.pass_fds if init else ())
            except OSError as exc:
                raise RunbookError(f"cannot run mariadbd: {exc.strerror or exc}") from None
            self._wait_ready(offset, timeout)
        return self

    def _init_statements(self) -> str:
        return "".join(f"CREATE OR REPLACE USER '{SCRATCH_USER}'@'{host}' IDENTIFIED BY '{self._password}';\n"
                       f"GRANT ALL PRIVILEGES ON *.* TO '{SCRATCH_USER}'@'{host}';\n"
                       for host in ("localhost", "127.0.0.1"))

    def _wait_ready(self, offset: int, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            rc = self._proc.poll()
            if rc is not None:
                self._proc = None
                raise said(RunbookError, "reason.scratch_exited", code=rc, path=self.datadir,
                           detail=_one_line_tail(self.error_log, offset))
            if self.socket.exists():
                try:
                    self.connect(connect_timeout=2).close()
                    return
                except pymysql.err.MySQLError as exc:
                    if self._refused_login(exc):
                        return  # it answered and checked the restored grants: up
                    last = str(exc.args[-1]) if exc.args else type(exc).__name__
            time.sleep(0.1)
        self.kill()
        raise said(RunbookError, "reason.scratch_not_ready", path=self.datadir, timeout=f"{timeout:.0f}",
                   last=last, detail=_one_line_tail(self.error_log, offset))

    def _refused_login(self, exc: pymysql.err.MySQLError) -> bool:
        """With the restored grants ("keep") root may have a password this process does not know."""
        code = exc.args[0] if exc.args else None
        return self.grants == "keep" and code in _ACCESS_DENIED

    def answers(self) -> bool:
        """The server completes a login handshake (a refused login counts with "keep")."""
        try:
            self.connect(connect_timeout=5).close()
        except pymysql.err.MySQLError as exc:
            return self._refused_login(exc)
        return True

    def stop(self, timeout: float = 120.0) -> None:
        """Clean shutdown (SIGTERM lets InnoDB flush); SIGKILL if it does not exit in time."""
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
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self._proc = None

    def __enter__(self) -> ScratchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- clients -----------------------------------------------------------------------------

    def connect_params(self) -> dict[str, Any]:
        """Keyword arguments for `pymysql.connect` (the temporary password included: never log them)."""
        params: dict[str, Any] = {"autocommit": True, "connect_timeout": 10, "charset": "utf8mb4",
                                  "program_name": "opsplan-scratch"}
        if self.grants == "temporary-user":
            params.update(host=self.host, port=self.port, user=SCRATCH_USER, password=self._password,
                          ssl_disabled=True)
        else:
            params.update(unix_socket=str(self.socket), user="root", password="")
        return params

    def connect(self, **overrides: Any) -> Any:
        return pymysql.connect(**{**self.connect_params(), **overrides})
