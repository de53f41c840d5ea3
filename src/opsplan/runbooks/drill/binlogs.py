"""The drill's use of the binlog archive: how far past the chain tip the archived binlogs reach, and the
replay of them into the scratch server (through backup/binlogs/restore.py).

Without the archive (binary logging off, or no binlog archived after the tip) the drill restores
the chain alone and its RPO is the age of the tip's end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from opsplan.backup.database.catalog import DbBackup
from opsplan.errors import RunbookError
from opsplan.plan.models import Plan
from opsplan.runbooks.restore.scratch import ScratchServer
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayPlan:
    until: float          # the newest archived event reachable from the tip (UTC seconds)
    files: list[str]      # archived binlog names, in replay order


def plan_replay(state_db: StateDB, tip: DbBackup) -> ReplayPlan | None:
    """The binlogs to replay after `tip`, or None when none reaches past the tip's end."""
    try:
        from opsplan.backup.binlogs.archive import archived
        from opsplan.backup.binlogs.restore import binlogs_after
    except ImportError:  # the binlog archive is not part of this build
        return None
    with state_db.session() as session:
        run = binlogs_after(archived(session), tip)
        newest = max((r.last_event_at or 0.0 for r in run), default=0.0)
        names = [r.name for r in run]
    if not run or tip.finished_at is None or newest <= tip.finished_at:
        return None
    return ReplayPlan(newest, names)


def replay_into(plan: Plan, state_db: StateDB, tip: DbBackup, replay: ReplayPlan, server: ScratchServer) -> list[str]:
    """Replay the archived binlogs from `tip`'s position to `replay.until` into `server`."""
    from opsplan.backup.binlogs.restore import replay as replay_binlogs
    from opsplan.backup.binlogs.restore import restore_point

    point = restore_point(state_db, datetime.fromtimestamp(replay.until, UTC))
    if point.backup.id != tip.id:
        raise RunbookError(f"the binlogs up to the newest event build on backup {point.backup.id}, "
                           f"not on the drilled tip {tip.id}")
    params = server.connect_params()
    if "port" not in params:
        raise RunbookError("binlog replay needs the scratch server on TCP (grants='temporary-user')")
    replay_binlogs(point, plan=plan, user=params["user"], password=params["password"],
                   host=params["host"], port=params["port"])
    return [r.name for r in point.binlogs]
