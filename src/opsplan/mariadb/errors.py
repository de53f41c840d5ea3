"""Why a MariaDB login or query failed, as a short fixed reason: safe for labels, logs and messages."""

from __future__ import annotations

import socket
from typing import Any

import pymysql

# Client-side codes (pymysql.constants.CR) and server error codes that name a reason.
_REASONS_BY_CODE = {
    1040: "too many connections",
    1044: "access denied",
    1045: "access denied",
    1129: "host blocked",
    1130: "host not allowed",
    1142: "permission denied",
    1227: "permission denied",
    1698: "access denied",
    2006: "connection lost",
    2013: "connection lost",
}


def classify_error(exc: BaseException) -> str:
    """A short, fixed reason for a label: never the server's text (it may carry a host or user)."""
    original = getattr(exc, "original_exception", None)
    if isinstance(original, OSError):
        exc = original
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, FileNotFoundError):
        return "socket not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, ConnectionError):
        return "connection lost"
    if isinstance(exc, OSError):
        return "network error"
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    code = args[0] if args and isinstance(args[0], int) else None
    text = str(args[1]) if len(args) > 1 else ""
    if "timed out" in text:
        return "timeout"
    if code in _REASONS_BY_CODE:
        return _REASONS_BY_CODE[code]
    if isinstance(exc, pymysql.err.InterfaceError):
        return "connection lost"
    if code:
        return f"mysql error {code}"
    return type(exc).__name__
