"""One send through apprise, with its failure reason and without the URL ever reaching a log.

apprise and urllib3 log the URL they post to (tokens included) at debug level, and apprise
logs a malformed URL whole. While we hold a URL, apprise's records go only to a private
capture (redacted, to give the operator apprise's reason) and urllib3's records are redacted
in place before any handler sees them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote

_lock = threading.RLock()  # apprise's logger is process-wide: one URL in flight at a time
_IPV4 = re.compile(r"^[0-9.]+$")
_REDACTED = "***"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    reason: str = ""


def secret_parts(url: str) -> list[str]:
    """The pieces of `url` that may be a token or password: everything but the scheme,
    short words and bare IPv4 addresses; longest first so replacements do not overlap."""
    rest = url.split("://", 1)[-1]
    parts = {url, rest}
    for piece in re.split(r"[/?&=:@#,;+]", rest):
        for form in (piece, unquote(piece)):
            if len(form) >= 4 and not _IPV4.match(form):
                parts.add(form)
    return sorted(parts, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for part in secrets:
        text = text.replace(part, _REDACTED)
    return text


class _Capture(logging.Handler):
    def __init__(self, secrets: list[str]):
        super().__init__(logging.INFO)
        self.secrets = secrets
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.lines.append(redact(record.getMessage(), self.secrets))


class _RedactFilter(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        return True


_THIRD_PARTY = ("urllib3.connectionpool", "urllib3", "requests", "mail.log")


@contextmanager
def _guarded(url: str) -> Iterator[_Capture]:
    secrets = secret_parts(url)
    apprise_log = logging.getLogger("apprise")
    capture = _Capture(secrets)
    redactor = _RedactFilter(secrets)
    with _lock:
        saved_propagate, saved_level = apprise_log.propagate, apprise_log.level
        apprise_log.propagate = False
        apprise_log.setLevel(logging.INFO)
        apprise_log.addHandler(capture)
        others = [logging.getLogger(name) for name in _THIRD_PARTY]
        for other in others:
            other.addFilter(redactor)
        try:
            yield capture
        finally:
            for other in others:
                other.removeFilter(redactor)
            apprise_log.removeHandler(capture)
            apprise_log.propagate = saved_propagate
            apprise_log.setLevel(saved_level)


def accepts(url: str) -> bool:
    """Whether apprise can build a notifier from `url` (False for a malformed one)."""
    import apprise

    with _guarded(url):
        return bool(apprise.Apprise().add(url))


def send(url: str, title: str, body: str, notify_type: str = "info") -> SendResult:
    """Send one message now; the reason on failure is apprise's, with the URL's secrets removed."""
    import apprise

    with _guarded(url) as capture:
        client = apprise.Apprise()
        if not client.add(url):
            return SendResult(False, _reason(capture, "apprise does not accept the channel URL"))
        try:
            ok = bool(client.notify(title=title, body=body, notify_type=notify_type))
        except Exception as exc:  # noqa: BLE001 - a plugin bug is one failed send, not a dead worker
            capture.lines.append(redact(f"{type(exc).__name__}: {exc}", capture.secrets))
            ok = False
    return SendResult(True) if ok else SendResult(False, _reason(capture, "apprise reported a failure"))


def _reason(capture: _Capture, fallback: str) -> str:
    lines = [line.splitlines()[0] for line in capture.lines if line.strip()]
    return "; ".join(dict.fromkeys(lines))[:500] or fallback
