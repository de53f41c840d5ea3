"""One exception tree for everything opsplan reports to an operator.

Each message is meant to be shown as one line; none may contain a secret. An error raised with
`said(Kind, key, **values)` carries its catalogue entry too: str() is its English text, and
`in_language(error, "ko")` the Korean one, for a Korean sentence that quotes the reason (KOREAN.md rule 6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from opsplan.i18n import t


class OpsplanError(Exception):
    """Base of every error opsplan raises on purpose."""

    # Set by `said`: the error's text in a given language, and its catalogue key (an HTTP API maps
    # the key to a status: a state conflict is not a bad request).
    translated: Callable[[str], str] | None = None
    message_key: str | None = None
    # The values its message was filled with: a surface that words the refusal its own way (the
    # console's pages, the API) says it again under its own key with the same values.
    message_values: dict[str, Any] | None = None


E = TypeVar("E", bound=OpsplanError)


def said(kind: type[E], key: str, **values: Any) -> E:
    """`kind` raised with the catalogue's message `key`: English as its str(), each language on request."""
    error = kind(t(key, "en", **values))
    error.translated = lambda language: t(key, language, **values)
    error.message_key = key
    error.message_values = dict(values)
    return error


def in_language(error: BaseException, language: str) -> str:
    """The error's text in `language` when it came from the catalogue, else its str() (a raw reason)."""
    translated = getattr(error, "translated", None)
    return translated(language) if translated is not None else str(error)


class PlanError(OpsplanError):
    """The plan file is missing, unreadable or invalid."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, key: str | None = None,
                 ko: str | None = None):
        self.path = path
        self.line = line
        self.key = key
        self.reason = message
        self.reason_ko = ko  # the reason in Korean, where the loader has it (plan/loader.py)
        if ko is not None:
            self.translated = self.one_line
        super().__init__(self.one_line())

    def one_line(self, language: str = "en") -> str:
        """'file:line: key: reason', the reason in `language` when there is one in it."""
        reason = self.reason_ko if language == "ko" and self.reason_ko is not None else self.reason
        where = self.path or "<plan>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.key:
            return f"{where}: {self.key}: {reason}"
        return f"{where}: {reason}"


class SecretError(OpsplanError):
    """A secret (database password) could not be read safely."""


class CollectorError(OpsplanError):
    """A collector could not read its source; only that collector degrades."""


class StoreError(OpsplanError):
    """The metrics store or the state database failed."""


class BackupError(OpsplanError):
    """A backup, prune or verify could not run or did not finish; the catalog says which."""


class RunbookError(OpsplanError):
    """A restore, rollback or drill step could not run or its check failed; the journal says which."""


class BackupSkipped(BackupError):
    """A backup or binlog pass did not start because a restore holds its lock; nothing was recorded as failed."""


# `log.error(..., extra=REPEATED_AS_ERROR)` for a line whose message the error raised next carries
# too: whoever catches the error reports it (the CLI as its one error line, serve's jobs in the log),
# so the console does not show it twice; a log file keeps both.
REPEATED_ATTRIBUTE = "repeated_as_error"
REPEATED_AS_ERROR = {REPEATED_ATTRIBUTE: True}
