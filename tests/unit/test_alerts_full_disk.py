"""The alert engine over a state database that cannot write (SQLite's own 'database or disk is full',
made real with max_page_count): it keeps evaluating and notifying from memory, says so, and catches up
with nothing lost and nothing sent twice once the database has room."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import event, text

from opsplan.alerts.backlog import Backlog
from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.instance import Instance
from opsplan.alerts.queries import list_alerts
from opsplan.metrics import Cycle, sample
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry
from opsplan.store import state as state_module
from opsplan.store.health import Persistence, describe, disk_full
from opsplan.store.reserve import DiskReserve
from opsplan.store.state import StateDB

INTERVAL = 15.0


class FullableDB:
    """A real SQLite state database whose size can be capped at what it holds now (a full disk)."""

    def __init__(self, path, health: Persistence | None = None):
        self.db = StateDB.open(f"sqlite:///{path}", health=health)
        self.cap: int | None = None
        event.listen(self.db.engine, "connect", self._apply)

    def _apply(self, connection, _record) -> None:
        if self.cap is not None:
            connection.execute(f"PRAGMA max_page_count={self.cap}")

    def fill(self) -> None:
        """Cap the file at its size, then take the free room in the alert table's pages, as a full disk would."""
        with self.db.session() as session:
            self.cap = int(session.execute(text("PRAGMA page_count")).scalar())
        self.db.engine.dispose()
        for i in range(10_000):
            try:
                with self.db.session() as session:
                    session.execute(text(
                        "INSERT INTO alerts (fingerprint, source, rule_id, alert, severity, labels, subject, state, "
                        "for_s, texts, annotations, active_since, resolved_at, notified, inhibited, updated_at) "
                        "VALUES (:fp, 'opsplan', 'filler', 'Filler', 'warning', '{}', '', 'resolved', 0, '{}', '{}', "
                        "0, 0, 0, 0, 0)"), {"fp": f"filler-{i}"})
            except Exception:  # noqa: BLE001 - SQLITE_FULL: the disk is full now
                return
        raise AssertionError("the capped database never filled")

    def free(self) -> None:
        self.cap = None
        self.db.engine.dispose()


@pytest.fixture
def full(tmp_path):
    state = FullableDB(tmp_path / "state.db", Persistence(DiskReserve(tmp_path, size=64 * 1024)))
    yield state
    state.db.close()


class Harness:
    def __init__(self, db: StateDB):
        self.now = 1_800_000_000.0
        self.db = db
        self.notices: list = []
        plan = Plan()
        self.engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=self.notices.append,
                                  clock=lambda: self.now, host="ai-server-01")

    def hold(self, seconds: float, *samples) -> None:
        for _ in range(int(seconds // INTERVAL)):
            self.engine.on_cycle(Cycle(self.now, list(samples), 0.1))
            self.now += INTERVAL

    def kinds(self) -> list[tuple[str, str]]:
        return [(n.kind, n.alert) for n in self.notices]


def cpu(percent: float):
    return sample("opsplan_cpu_usage_ratio", percent / 100)


def test_alerts_fire_from_memory_on_a_full_disk_and_catch_up_once(full, tmp_path):
    reserve = full.db.health.reserve
    assert reserve is not None and reserve.ensure()
    h = Harness(full.db)
    full.fill()
    h.hold(330, cpu(95))
    # Heard although nothing could be written, and /healthz has the reason.
    assert h.kinds() == [("firing", "CpuUsageHigh")]
    assert full.db.health.summary() is not None
    assert "state database: no space left on device" in full.db.health.summary()
    assert not (tmp_path / ".reserve").exists()  # given back for the state database
    assert [a for a in list_alerts(full.db, h.now, include_resolved=True) if a["alert"] != "Filler"] == []

    h.hold(300, cpu(50))  # resolved while the disk is still full
    assert h.kinds() == [("firing", "CpuUsageHigh"), ("resolved", "CpuUsageHigh")]

    full.free()
    h.hold(30, cpu(50))
    assert full.db.health.problems() == {"data disk": full.db.health.problems()["data disk"]}  # reserve not back
    stored = [a for a in list_alerts(full.db, h.now, include_resolved=True) if a["alert"] != "Filler"]
    assert sorted((a["severity"], a["state"]) for a in stored) == [("critical", "resolved"), ("warning", "resolved")]
    with full.db.session() as session:  # the critical's notices are recorded as sent: a restart is quiet
        notified = session.execute(text("SELECT severity, notified FROM alerts WHERE alert = 'CpuUsageHigh'")).all()
    assert sorted(notified) == [("critical", 1), ("warning", 0)]
    full.db.health.check_reserve()
    assert full.db.health.summary() is None and (tmp_path / ".reserve").stat().st_size == 64 * 1024
    assert len(h.notices) == 2  # the catch-up sent nothing again


def test_a_restart_after_the_catch_up_sends_nothing_twice(full):
    h = Harness(full.db)
    full.fill()
    h.hold(330, cpu(95))
    full.free()
    h.hold(30, cpu(95))
    again = Harness(full.db)  # a new engine over the caught-up database
    again.now = h.now
    again.hold(300, cpu(95))
    assert again.notices == []
    assert {a["state"] for a in list_alerts(full.db, again.now)} == {"firing"}


def test_an_engine_started_without_its_database_merges_what_it_stored(tmp_path, monkeypatch):
    monkeypatch.setattr(state_module, "REOPEN_EVERY", 0.0)  # try again at every write, not every 15 s
    before = StateDB.open(f"sqlite:///{tmp_path / 'before.db'}")
    h = Harness(before)
    h.hold(330, cpu(95))
    assert h.kinds() == [("firing", "CpuUsageHigh")]
    before.close()

    path = tmp_path / "state.db"
    path.mkdir()  # a database that cannot be opened at start
    later = StateDB.open_or_defer(f"sqlite:///{path}")
    assert later.unavailable and later.unavailable.startswith("cannot migrate the state database")
    restarted = Harness(later)
    restarted.now = h.now
    restarted.hold(60, cpu(95))  # pending again, from memory
    assert "state database" in later.health.problems()

    path.rmdir()
    shutil.copy(tmp_path / "before.db", path)  # the database is back, with the alert it had
    restarted.hold(300, cpu(95))
    assert restarted.notices == []  # the same firing alert as before: nobody is told twice
    assert [a["state"] for a in list_alerts(later, restarted.now) if a["severity"] == "critical"] == ["firing"]
    assert later.health.summary() is None
    later.close()


def test_the_backlog_is_bounded_and_counts_what_it_drops():
    backlog = Backlog(limit=3)
    for i in range(5):
        backlog.keep(Instance(fingerprint=f"fp{i}", source="opsplan", rule_id="r", alert="A", severity="warning",
                              labels={}, subject="", subject_key=(), state="resolved", value=1.0, threshold=0.5,
                              for_s=0, texts={}, annotations={}, active_since=0.0))
    assert [i.fingerprint for i in backlog.instances()] == ["fp2", "fp3", "fp4"] and backlog.dropped == 2
    backlog.hold_drops(list(range(10)))
    assert backlog.drops([]) == list(range(7, 10)) and backlog.dropped == 9


def test_a_full_disk_reads_as_one_line_whatever_the_layer():
    assert describe(OSError(28, "No space left on device")) == "no space left on device"
    assert disk_full(RuntimeError("(sqlite3.OperationalError) database or disk is full"))
    assert not disk_full(RuntimeError("database is locked"))
