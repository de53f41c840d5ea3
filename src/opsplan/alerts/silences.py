"""Silences: label matchers over a time window. A silenced alert keeps its state but sends nothing.

Matchers are Alertmanager's `name=value` and `name=~regex` (the regex must match the whole value;
RE2 syntax, as Alertmanager's, at most 256 characters).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from opsplan.alerts.errors import AlertError, NotFound
from opsplan.alerts.tables import SilenceRow
from opsplan.alerts.times import checked_time
from opsplan.errors import said
from opsplan.metrics.matchers import PatternError, compile_pattern, full_match
from opsplan.plan.types import parse_duration
from opsplan.store.state import StateDB, max_length, too_long

MatchOp = Literal["=", "=~"]
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise AlertError(f"matcher {self.name}{self.op}{self.value}: invalid label name {self.name!r}")
        if self.op == "=~":
            try:
                compile_pattern(self.value)
            except PatternError as exc:
                raise AlertError(f"matcher {self.name}=~{self.value[:60]}: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.value
        # RE2: a silence is matched against every alert on every cycle; linear time, whatever the regex.
        return full_match(self.value, value)

    def text(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """'severity=warning' or 'mountpoint=~/data.*' -> Matcher."""
    match = re.match(r"^\s*([^=~!\s]+)\s*(=~|=)\s*(.*?)\s*$", text)
    if not match:
        raise said(AlertError, "alerts.error.matcher", matcher=repr(text))
    name, op, value = match.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return Matcher(name, "=~" if op == "=~" else "=", value)


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    author: str
    comment: str
    created_at: float

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def state(self, now: float) -> str:
        return "pending" if now < self.starts_at else ("active" if now < self.ends_at else "expired")

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def as_dict(self, now: float) -> dict[str, object]:
        return {"id": self.id, "matchers": [m.text() for m in self.matchers], "starts_at": self.starts_at,
                "ends_at": self.ends_at, "author": self.author, "comment": self.comment,
                "created_at": self.created_at, "state": self.state(now)}


def _from_row(row: SilenceRow) -> Silence:
    return Silence(row.id, tuple(Matcher(n, o, v) for n, o, v in json.loads(row.matchers)), row.starts_at,
                   row.ends_at, row.author, row.comment, row.created_at)


def add_silence(db: StateDB, matchers: Sequence[Matcher], *, starts_at: float, ends_at: float, author: str,
                comment: str, now: float) -> Silence:
    if not matchers:
        raise said(AlertError, "alerts.error.no_matcher")
    checked_time(starts_at, "starts_at")
    checked_time(ends_at, "ends_at")
    if ends_at <= starts_at or ends_at <= now:
        raise AlertError("a silence must end after it starts and in the future")
    if not author.strip():
        raise AlertError("a silence needs an author")
    if too_long(author.strip(), SilenceRow.__table__.c.author):
        raise said(AlertError, "alerts.error.author_too_long", n=max_length(SilenceRow.__table__.c.author))
    silence = Silence(uuid.uuid4().hex[:12], tuple(matchers), starts_at, ends_at, author.strip(), comment, now)
    with db.session() as session:
        session.add(SilenceRow(id=silence.id, matchers=json.dumps([[m.name, m.op, m.value] for m in matchers]),
                               starts_at=starts_at, ends_at=ends_at, author=silence.author, comment=comment,
                               created_at=now))
    return silence


def expire_silence(db: StateDB, silence_id: str, now: float) -> Silence:
    """Ends a silence now (kept for history); NotFound when there is none with that id."""
    with db.session() as session:
        row = session.get(SilenceRow, silence_id)
        if row is None:
            raise NotFound(f"no silence with id {silence_id!r}")
        if row.ends_at > now:
            row.ends_at = now
            row.starts_at = min(row.starts_at, now)
        return _from_row(row)


def load_silences(db: StateDB, now: float, *, include_expired: bool = False) -> list[Silence]:
    with db.session() as session:
        query = select(SilenceRow).order_by(SilenceRow.starts_at)
        if not include_expired:
            query = query.where(SilenceRow.ends_at > now)
        return [_from_row(row) for row in session.scalars(query)]


def silenced_by(silences: Iterable[Silence], labels: Mapping[str, str], now: float) -> list[str]:
    return [s.id for s in silences if s.active(now) and s.matches(labels)]


def silence_duration(text: str | None) -> float:
    try:
        seconds = parse_duration(text)
    except Exception:  # noqa: BLE001 - pydantic's error type; the message below is the one-liner
        raise said(AlertError, "alerts.error.duration", value=repr(text)) from None
    if seconds <= 0:
        raise said(AlertError, "alerts.error.duration_zero")
    return seconds
