"""Secrets the plan points at but never contains: the database password, notification URLs.

A secret comes from an environment variable, else from a file that only its owner may read
or write. Error messages name the variable or the file and its mode, never the content.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from opsplan.errors import SecretError
from opsplan.plan.models import Channel, Database


def read_database_password(db: Database, environ: Mapping[str, str] = os.environ) -> str | None:
    """The password from `db.password_env`, else `db.password_file`; None when neither is set."""
    return _read_secret("database password", db.password_env, db.password_file, environ)


def read_channel_url(channel: Channel, environ: Mapping[str, str] = os.environ) -> str | None:
    """The channel's URL (it carries the token) from `url_env`, else `url_file`."""
    return _read_secret(f"URL of channel '{channel.name}'", channel.url_env, channel.url_file, environ)


def read_secret_file(path: Path, what: str = "secret") -> str:
    """The file's text less its trailing newline; refused unless a regular file of mode 0600 or tighter."""
    # O_NONBLOCK: a FIFO must not hang the caller before fstat says it is not a regular file.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise SecretError(f"{what} file {path}: no such file") from None
    except PermissionError:
        raise SecretError(f"{what} file {path}: permission denied") from None
    except OSError as exc:
        raise SecretError(f"{what} file {path}: cannot open ({exc.strerror})") from None
    try:
        # fstat on the open descriptor: the file checked is the file read, even if renamed meanwhile.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretError(f"{what} file {path}: not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise SecretError(f"{what} file {path}: mode {mode:04o} lets group or others at it; "
                              f"run chmod 600 {path}")
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"{what} file {path}: not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise SecretError(f"{what} file {path}: empty")
    return text


def _read_secret(what: str, env: str | None, file: Path | None, environ: Mapping[str, str]) -> str | None:
    if env:
        value = environ.get(env)
        if value:
            return value
    if file is not None:
        return read_secret_file(file, what)
    return None
