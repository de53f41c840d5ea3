"""Notifications the outbox could not take (a full disk): kept in memory, delivered from there, and
written to the outbox, with what became of them, as soon as it can write again.

A held row has the outbox row's fields, so the same delivery rules apply to both; written late with
status `sent`, a notice delivered from memory is never sent again. The list is bounded: past
MAX_HELD rows the oldest delivered ones go first, then the oldest undelivered, counted in `dropped`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from opsplan.notify.outbox import PENDING, OutboxRow

log = logging.getLogger(__name__)

MAX_HELD = 1000


@dataclass
class HeldRow:
    notice_key: str
    channel: str
    kind: str
    fingerprint: str
    alert: str
    severity: str
    title: str
    body: str
    notify_type: str
    created_at: float
    first_due_at: float
    next_try_at: float
    attempts: int = 0
    status: str = PENDING
    last_error: str | None = None
    sent_at: float | None = None

    def to_row(self) -> OutboxRow:
        """A fresh outbox row (never one a failed transaction touched)."""
        return OutboxRow(**{f.name: getattr(self, f.name) for f in fields(self)})


class HeldNotices:
    def __init__(self, limit: int = MAX_HELD):
        self.limit = limit
        self.dropped = 0
        self._rows: list[HeldRow] = []

    def add(self, rows: list[HeldRow]) -> int:
        known = {(r.notice_key, r.channel) for r in self._rows}
        new = [r for r in rows if (r.notice_key, r.channel) not in known]
        self._rows += new
        self._trim()
        return len(new)

    def rows(self) -> list[HeldRow]:
        return list(self._rows)

    def due(self, now: float) -> list[HeldRow]:
        return [r for r in self._rows if r.status == PENDING and r.next_try_at <= now]

    def pending(self) -> list[HeldRow]:
        return [r for r in self._rows if r.status == PENDING]

    def channels_of(self, fingerprint: str) -> list[str]:
        """Channels a held firing (or repeat) notice of `fingerprint` went to, as outbox.firing_channels."""
        return list(dict.fromkeys(r.channel for r in self._rows
                                  if r.fingerprint == fingerprint and r.kind in ("firing", "repeat")))

    def clear(self) -> int:
        count = len(self._rows)
        self._rows = []
        return count

    def __len__(self) -> int:
        return len(self._rows)

    def _trim(self) -> None:
        while len(self._rows) > self.limit:
            done = next((i for i, r in enumerate(self._rows) if r.status != PENDING), 0)
            self._rows.pop(done)
            if self.dropped == 0:
                log.error("more than %d notifications held in memory: the oldest are dropped", self.limit)
            self.dropped += 1
