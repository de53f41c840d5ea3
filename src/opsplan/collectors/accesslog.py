"""Access logs read incrementally: a tailer that survives rotation, the two line parsers
(nginx combined, JSON lines) and the 5-minute window of distinct users.

Tailing rules (docs/metrics-services.md repeats them for operators):
- The first time a log is opened that already existed when opsplan started, reading starts at
  its end: history is not counted as this cycle's traffic. A file that appears later (created
  after start, or the fresh file after a rotation) is read from its first byte.
- Rotation by rename (logrotate's default): the path now names another inode. The old file is
  still open here, so what was written to it since the last cycle is read to its end, then the
  new file is read from 0. Lines the server writes to the old file after that (before it
  reopens its log) are lost.
- copytruncate: same inode, size below the offset we had read to: start again from 0. Lines
  written between our last read and the truncation are in the copy and not counted here, as
  with `tail -F`.
- A last line without its newline is kept and completed next cycle.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsplan.plan.models import AccessLog


class MalformedLine(ValueError):
    """A log line that neither parser could read; counted, then skipped."""


@dataclass(frozen=True, slots=True)
class Request:
    """What one access-log line says about one request."""

    status: int
    latency: float | None  # seconds
    user: str | None


# --- parsers ------------------------------------------------------------------------------------

# nginx escapes '"' inside variables as \x22, but other servers use \" : accept both.
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_COMBINED = re.compile(
    r"^(?P<addr>\S+) \S+ (?P<user>\S+) \[[^\]]+\] "
    rf"{_QUOTED} (?P<status>\d{{3}}) (?:\d+|-)"
    rf"(?: {_QUOTED} {_QUOTED})?"
    r"(?P<rest>.*)$"
)
_REST_TOKEN = re.compile(rf"{_QUOTED}|\S+")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_NAMED_TIME = re.compile(r"^(?:rt|request_time)=\"?(\d+(?:\.\d+)?)\"?$")


def _request_time(rest: str) -> float | None:
    """nginx setups append $request_time in two common ways: `rt=0.123` (the nginx docs'
    example) or a bare number after the user agent. An explicit rt= wins; otherwise the first
    bare number, since later ones are usually $upstream_response_time or sizes."""
    bare: float | None = None
    for token in _REST_TOKEN.findall(rest):
        named = _NAMED_TIME.match(token)
        if named:
            return float(named.group(1))
        if bare is None and _NUMBER.match(token):
            bare = float(token)
    return bare


def parse_combined(line: str, user_field: str = "remote_addr") -> Request:
    """nginx/Apache combined format, optionally followed by the request time in seconds.
    The user is $remote_addr, or $remote_user when user_field says so and it is set."""
    match = _COMBINED.match(line)
    if not match:
        raise MalformedLine("not in combined format")
    status = int(match.group("status"))
    if not 100 <= status <= 599:
        raise MalformedLine(f"status {status} out of range")
    user = match.group("addr")
    if user_field == "remote_user" and match.group("user") != "-":
        user = match.group("user")
    return Request(status, _request_time(match.group("rest")), user)


def _lookup(obj: dict[str, Any], field: str) -> Any:
    # A flat key first (nginx escape=json logs use flat names); a dotted path for nested loggers.
    if field in obj:
        return obj[field]
    node: Any = obj
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _latency_scale(field: str) -> float:
    # Loggers that write milliseconds or microseconds say so in the field name.
    if field.endswith("_ms"):
        return 0.001
    if field.endswith(("_us", "_micros")):
        return 0.000001
    return 1.0


def parse_json(line: str, status_field: str = "status", latency_field: str = "request_time",
               user_field: str = "remote_addr") -> Request:
    """One JSON object per line; the status is required, latency and user are optional."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise MalformedLine("not JSON") from exc
    if not isinstance(obj, dict):
        raise MalformedLine("not a JSON object")
    raw_status = _lookup(obj, status_field)
    if isinstance(raw_status, bool) or raw_status is None:
        raise MalformedLine(f"no {status_field}")
    try:
        status = int(raw_status)
    except (TypeError, ValueError) as exc:
        raise MalformedLine(f"bad {status_field}") from exc
    if not 100 <= status <= 599:
        raise MalformedLine(f"status {status} out of range")
    latency: float | None = None
    raw_latency = _lookup(obj, latency_field)
    if raw_latency is not None and not isinstance(raw_latency, bool):
        try:
            # "-" (nginx's empty upstream time) means unknown, not a broken line.
            latency = float(raw_latency) * _latency_scale(latency_field)
        except (TypeError, ValueError):
            latency = None
        if latency is not None and (math.isnan(latency) or latency < 0):
            latency = None
    raw_user = _lookup(obj, user_field)
    user = None if raw_user in (None, "", "-") else str(raw_user)
    return Request(status, latency, user)


def parser_for(config: AccessLog) -> Callable[[str], Request]:
    if config.format == "json":
        return lambda line: parse_json(line, config.status_field, config.latency_field, config.user_field)
    return lambda line: parse_combined(line, config.user_field)


# --- the tailer ---------------------------------------------------------------------------------

class LogTailer:
    """Returns the complete lines appended to `path` since the previous call."""

    def __init__(self, path: Path, *, start_at_end: bool = True,
                 max_read: int = 64 * 1024 * 1024, max_line: int = 1024 * 1024) -> None:
        self.path = Path(path)
        self._start_at_end = start_at_end
        self._max_read = max_read
        self._max_line = max_line
        self._file: Any = None  # an open binary file, kept so a renamed log can be finished
        self._ident: tuple[int, int] | None = None
        self._offset = 0
        self._partial = b""
        self.overlong = 0  # lines dropped for exceeding max_line, since start

    @property
    def opened(self) -> bool:
        return self._file is not None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._ident = None

    def read_lines(self) -> list[str]:
        """New complete lines. Raises OSError when the log cannot be read at all (missing
        before it was ever opened, or unreadable): the caller reports the log as down."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._file is None:
                # Never opened yet: a log that appears later is new, read it whole.
                self._start_at_end = False
                raise
            # Renamed away and not yet recreated: the open file is the one still written to.
            return self._read_available()
        ident = (st.st_dev, st.st_ino)
        lines: list[str] = []
        if self._file is not None and ident != self._ident:
            # The old file is finished now or never: read all of it, past the per-cycle cap.
            lines = self._read_available()
            while self._offset < os.fstat(self._file.fileno()).st_size:
                lines.extend(self._read_available())
            if self._partial:
                lines.append(self._decode(self._partial))  # the old file will not finish it
            self.close()
            self._partial = b""
            self._start_at_end = False
        if self._file is None:
            self._open(ident, st.st_size)
        elif st.st_size < self._offset:
            # copytruncate: the bytes we had not read yet went to the copy; restart at 0.
            self._file.seek(0)
            self._offset = 0
            self._partial = b""
        lines.extend(self._read_available())
        return lines

    def _open(self, ident: tuple[int, int], size: int) -> None:
        self._file = open(self.path, "rb")  # noqa: SIM115 - kept open across cycles on purpose
        self._ident = ident
        self._offset = size if self._start_at_end else 0
        self._file.seek(self._offset)
        self._start_at_end = False

    def _read_available(self) -> list[str]:
        if self._file is None:
            return []
        data = self._file.read(self._max_read)
        self._offset = self._file.tell()
        if not data:
            return []
        chunks = (self._partial + data).split(b"\n")
        self._partial = chunks.pop()
        if len(self._partial) > self._max_line:
            self._partial = b""
            self.overlong += 1
        lines = []
        for chunk in chunks:
            if len(chunk) > self._max_line:
                self.overlong += 1
                continue
            lines.append(self._decode(chunk))
        return lines

    @staticmethod
    def _decode(chunk: bytes) -> str:
        return chunk.decode("utf-8", "replace").rstrip("\r")


# --- the window of users and per-cycle statistics ------------------------------------------------

class UserWindow:
    """Distinct users seen within the last `window` seconds (by the collector's clock)."""

    def __init__(self, window: float = 300.0) -> None:
        self.window = window
        self._last_seen: dict[str, float] = {}

    def see(self, user: str, at: float) -> None:
        self._last_seen[user] = at

    def count(self, now: float) -> int:
        cutoff = now - self.window
        stale = [u for u, t in self._last_seen.items() if t <= cutoff]
        for user in stale:
            del self._last_seen[user]
        return len(self._last_seen)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def quantile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not sorted_values:
        return None
    pos = q * (len(sorted_values) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


@dataclass(slots=True)
class LogCycle:
    """What one cycle read from one access log."""

    requests: list[Request]
    parse_errors: int


class AccessLogReader:
    """Tailer + parser + user window for one service's log."""

    def __init__(self, config: AccessLog, *, window: float = 300.0, start_at_end: bool = True) -> None:
        self.config = config
        self.tailer = LogTailer(config.path, start_at_end=start_at_end)
        self.users = UserWindow(window)
        self._parse = parser_for(config)

    def read(self, now: float) -> LogCycle:
        overlong_before = self.tailer.overlong
        lines = self.tailer.read_lines()
        requests: list[Request] = []
        errors = self.tailer.overlong - overlong_before
        for line in lines:
            if not line.strip():
                continue
            try:
                request = self._parse(line)
            except MalformedLine:
                errors += 1
                continue
            requests.append(request)
            if request.user is not None:
                self.users.see(request.user, now)
        return LogCycle(requests, errors)

    def close(self) -> None:
        self.tailer.close()
