"""Credentials for MariaDB's command-line tools (mariabackup, mariadb-binlog, mariadb, mariadbd's init
file) without a file on disk.

The option text lives in an anonymous in-memory file (`memfd_create`): sealed, mode 0400, close-on-exec.
A child started with `pass_fds=(memory.fd,)` reads it as `/dev/fd/N` (`--defaults-extra-file=/dev/fd/N`,
first on its command line). Opening /dev/fd/N of a memfd opens the file anew at offset 0, so a tool
that reads its option files more than once (mariabackup does) reads it whole each time, which a pipe
would not allow. The file has no name in any directory: it is gone when the last process holding it
exits, SIGKILL and the OOM killer included, so no password outlives a killed process.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opsplan.plan.models import Database

# Nothing may change the text once written: a child that holds the descriptor reads what we wrote.
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


@dataclass(frozen=True)
class MemoryFile:
    """An open anonymous file; hand `fd` to the child with `pass_fds` and `path` on its command line."""

    fd: int

    @property
    def path(self) -> str:
        return f"/dev/fd/{self.fd}"

    @property
    def defaults_option(self) -> str:
        """`--defaults-extra-file=/dev/fd/N`: must be the tool's first option."""
        return f"--defaults-extra-file={self.path}"

    @property
    def pass_fds(self) -> tuple[int]:
        return (self.fd,)


@contextmanager
def memory_file(text: str, name: str = "opsplan") -> Iterator[MemoryFile]:
    """`text` in a sealed, read-only (0400), close-on-exec memfd, closed when the block ends."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        data = text.encode("utf-8")
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        # memfds are created 0777; MariaDB ignores a world-writable option file ("is ignored").
        os.fchmod(fd, 0o400)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
        yield MemoryFile(fd)
    finally:
        os.close(fd)


def quote_option(value: object) -> str:
    """An option-file value that reads back as itself: quoted, so '#' is no comment and blanks stay,
    with the backslash escapes MariaDB's option parser undoes."""
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(raw, escaped)
    return f'"{text}"'


def option_text(db: Database, password: str | None) -> str:
    """The option file: [client] for the connection, [mariabackup] repeating it (either is read)."""
    lines = [f"user={quote_option(db.user)}"]
    if password:
        lines.append(f"password={quote_option(password)}")
    if db.socket:
        lines.append(f"socket={quote_option(db.socket)}")
    else:
        lines += [f"host={quote_option(db.host)}", f"port={int(db.port)}"]
    body = "\n".join(lines)
    return f"[client]\n{body}\n[mariabackup]\n{body}\n"


@contextmanager
def client_options(db: Database, password: str | None) -> Iterator[MemoryFile]:
    """The login to `db` as an in-memory option file for the block (see the module docstring)."""
    with memory_file(option_text(db, password), "opsplan-client") as memory:
        yield memory


__all__ = ["MemoryFile", "memory_file", "quote_option", "option_text", "client_options"]
