"""Alert state the state database could not take yet (a full disk): kept in memory, bounded, written
by the first cycle that can.

Active instances stay in the engine's own list, dirty until written; what the backlog keeps is
what left that list unwritten (resolved instances) and the rows of pending instances that went away
(to delete). One instance is one entry however often it changed, so repeated changes merge; past
MAX_KEPT entries the oldest are dropped and counted, so an outage never grows memory without bound.
"""

from __future__ import annotations

import logging

from opsplan.alerts.instance import Instance

log = logging.getLogger(__name__)

MAX_KEPT = 2000


class Backlog:
    def __init__(self, limit: int = MAX_KEPT):
        self.limit = limit
        self.dropped = 0  # entries given up because the backlog was full (history lost, nothing unsent)
        self._kept: dict[int, Instance] = {}
        self._gone_rows: list[int] = []

    def keep(self, inst: Instance) -> None:
        self._kept[id(inst)] = inst
        while len(self._kept) > self.limit:
            del self._kept[next(iter(self._kept))]
            self._lost(1)

    def instances(self) -> list[Instance]:
        return list(self._kept.values())

    def drops(self, dropped: list[Instance]) -> list[int]:
        """Rows to delete: those still owed and this cycle's vanished pending instances that had one."""
        return [*self._gone_rows, *(i.row_id for i in dropped if i.row_id is not None)]

    def hold_drops(self, rows: list[int]) -> None:
        if len(rows) > self.limit:
            self._lost(len(rows) - self.limit)
            rows = rows[-self.limit:]
        self._gone_rows = rows

    def adopt_row(self, stored: Instance) -> bool:
        """A row read late (the database was away at start) that a kept, resolved instance continues."""
        for inst in self._kept.values():
            if inst.fingerprint == stored.fingerprint and inst.row_id is None:
                inst.row_id = stored.row_id
                return True
        return False

    def clear(self) -> int:
        """Everything was written; returns how many entries that was."""
        count = len(self._kept) + len(self._gone_rows)
        self._kept.clear()
        self._gone_rows = []
        return count

    def __len__(self) -> int:
        return len(self._kept) + len(self._gone_rows)

    def _lost(self, count: int) -> None:
        if self.dropped == 0:
            log.error("alert state backlog is full (%d entries): the oldest unwritten history is dropped",
                      self.limit)
        self.dropped += count

