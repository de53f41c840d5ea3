"""The plan's lease (store/lease.py, serve/lease.py) on SQLite, PostgreSQL and MariaDB: one holder,
a takeover only after expiry with a new fencing token, a holder that lost the lease stops (its outbox
claims are refused), and a row claimed by a holder that died is sent by the next one, once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

import yaml_writer
from opsplan.alerts.events import AlertNotice
from opsplan.jobs import Job
from opsplan.notify.delivery import SendResult
from opsplan.notify.outbox import PENDING, SENT, OutboxRow
from opsplan.notify.service import CLAIM_HOLD, Notifier
from opsplan.plan.models import Text
from opsplan.serve.lease import ACTIVE, STANDBY, Lease
from opsplan.serve.scheduler import Scheduler
from opsplan.stages.all import load_plan
from opsplan.store import lease as rows
from opsplan.store.state import StateDB


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def lease_pair(db: StateDB, clock: Clock) -> tuple[Lease, Lease]:
    # Two serves of one plan on one state database; both clocks are the test's.
    first = Lease(db, "ai-server-01", interval=10, clock=clock, monotonic=clock, host="a")
    second = Lease(db, "ai-server-01", interval=10, clock=clock, monotonic=clock, host="b")
    return first, second


def test_one_holder_a_takeover_after_expiry_and_the_old_holder_fenced(engine_state_url: str):
    db = StateDB.open(engine_state_url)
    clock = Clock()
    try:
        first, second = lease_pair(db, clock)
        taken: list[str] = []
        second.on_active(lambda: taken.append("second"))
        assert first.try_once() == ACTIVE and first.token == 1
        assert second.try_once() == STANDBY and not second.is_active()
        with db.session() as session:
            assert first.holds(session) and not second.holds(session)
        clock.now += first.ttl / 2
        assert first.try_once() == ACTIVE  # renewed
        clock.now += first.ttl * 0.9
        assert second.try_once() == STANDBY  # the renewal keeps it: not expired yet
        # the holder stops renewing (killed): once it expires the standby takes it, token 2
        clock.now += first.ttl + 0.1
        assert not first.is_active()  # by its own clock it no longer acts, before any takeover
        assert second.try_once() == ACTIVE and second.token == 2 and taken == ["second"]
        with db.session() as session:
            assert second.holds(session)
            assert not rows.holds(session, "ai-server-01", 1)
        assert first.try_once() == STANDBY  # the old holder comes back: it is a standby now
        with db.session() as session:
            assert not first.holds(session)
        second.release()  # a clean stop: the other takes over at once, not at expiry
        assert first.try_once() == ACTIVE and first.token == 3
    finally:
        db.close()


def test_two_standbys_racing_for_an_expired_lease_one_wins(engine_state_url: str):
    db = StateDB.open(engine_state_url)
    clock = Clock()
    try:
        leases = [Lease(db, "p", interval=10, clock=clock, monotonic=clock, host=f"h{i}") for i in range(4)]
        assert leases[0].try_once() == ACTIVE
        clock.now += 100  # it died
        barrier = threading.Barrier(3)
        roles: list[str] = []

        def race(lease: Lease) -> None:
            barrier.wait()
            roles.append(lease.try_once())

        threads = [threading.Thread(target=race, args=(lease,)) for lease in leases[1:]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(roles) == [ACTIVE, STANDBY, STANDBY]
        with db.session() as session:
            seen = rows.read(session, "p")
        assert seen is not None and seen.token == 2
    finally:
        db.close()


def _notice(alert: str) -> AlertNotice:
    return AlertNotice(kind="firing", fingerprint=f"fp-{alert}", alert=alert, severity="critical",
                       labels={"alert": alert, "severity": "critical"}, subject="",
                       summary=Text(ko=f"{alert} 발생", en=f"{alert} firing"),
                       description=Text(ko="설명", en="description"), value=1.0, threshold=0.5, for_s=60.0,
                       started_at=1_799_999_000.0)


def test_the_outbox_claim_is_fenced_and_a_dead_holders_claim_is_retried_once(engine_state_url: str,
                                                                             tmp_path: Path):
    plan = load_plan(yaml_writer.write_plan(tmp_path, {
        "language": "en",
        "notifications": {"channels": [{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL",
                                        "severities": ["critical", "warning"]}]}}))
    db = StateDB.open(engine_state_url)
    clock = Clock()
    sent: list[tuple[str, str]] = []
    try:
        first, second = lease_pair(db, clock)

        def notifier(lease: Lease, name: str) -> Notifier:
            n = Notifier(plan, db, clock=clock, environ={"HOOK_URL": "json://127.0.0.1:9/x"},
                         sender=lambda url, title, body, kind: sent.append((name, title)) or SendResult(True, None))
            n.fence = lease.holds
            return n

        one, two = notifier(first, "first"), notifier(second, "second")
        assert first.try_once() == ACTIVE and second.try_once() == STANDBY
        assert one.submit(_notice("ApiDown")) == 1 and two.submit(_notice("ApiDown")) == 0  # one row
        assert two.deliver_due().sent == 0 and sent == []  # the standby claims nothing
        assert one.deliver_due().sent == 1 and [who for who, _ in sent] == ["first"]
        assert one.deliver_due().sent == 0 and two.deliver_due().sent == 0

        # The holder claims a row and dies mid-send: its claim is left to it for CLAIM_HOLD...
        one.submit(_notice("GpuHot"))
        with db.session() as session:
            row_id = session.scalars(select(OutboxRow.id).where(OutboxRow.alert == "GpuHot")).one()
        assert one._claim(row_id, clock()) not in (None, [])
        clock.now += first.ttl + 1
        assert second.try_once() == ACTIVE  # the standby took over
        assert one.deliver_due().sent == 0  # the old holder, alive again, is fenced
        assert first.try_once() == STANDBY
        assert two.deliver_due().sent == 0  # ...not sent twice while the dead one's send could still land
        clock.now += CLAIM_HOLD
        assert second.try_once() == ACTIVE and second.token == 2  # renewed (its lease had run out, untaken)
        assert two.deliver_due().sent == 1
        with db.session() as session:
            states = dict(session.execute(select(OutboxRow.alert, OutboxRow.status)).all())
        assert states == {"ApiDown": SENT, "GpuHot": SENT}
        assert [who for who, title in sent] == ["first", "second"]
        assert PENDING not in states.values()
    finally:
        db.close()


def test_a_standby_scheduler_starts_nothing_and_catches_up_when_it_takes_over(tmp_path: Path):
    ran: list[str] = []
    active = [False]
    job = Job(name="backup-db", cron="0 2 * * *", run=lambda: ran.append("backup-db"),
              last_run=lambda: 0.0)  # its last run long ago: missed
    clock = Clock()
    scheduler = Scheduler([job], timezone="Asia/Seoul", clock=clock, active=lambda: active[0])
    assert scheduler.run_due() == []  # due now (missed), but a standby
    assert job.next_at > clock()
    with pytest.raises(RuntimeError, match="standby"):  # a console button on the standby: a 503 there
        scheduler.run_now("backup-db", by="kim")
    active[0] = True
    scheduler.catch_up()  # what serve calls when it takes the lease
    assert scheduler.run_due() == ["backup-db"]
    assert job.running is not None
    job.running.join(5)
    assert ran == ["backup-db"]


def test_a_holder_on_this_host_whose_process_ended_is_taken_over_at_once(tmp_path: Path):
    """serve killed and restarted by systemd on the same box: the new one does not wait out the old
    lease; a holder on this host that still runs, or one on another host, is waited for."""
    import subprocess

    ended = subprocess.Popen(["true"])
    ended.wait()  # its pid names no process now
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    clock = Clock()
    try:
        old = Lease(db, "ai-server-01", interval=15, clock=clock, monotonic=clock, host="box")
        old.me = rows.Holder(old.me.id, "box", ended.pid)
        assert old.try_once() == ACTIVE
        elsewhere = Lease(db, "ai-server-01", interval=15, clock=clock, monotonic=clock, host="other-box")
        assert elsewhere.try_once() == STANDBY  # another host cannot tell whether it runs
        restarted = Lease(db, "ai-server-01", interval=15, clock=clock, monotonic=clock, host="box")
        assert restarted.try_once() == ACTIVE and restarted.token == 2  # well before the 22.5 s expiry

        alive = Lease(db, "ai-server-01", interval=15, clock=clock, monotonic=clock, host="box")
        alive.me = rows.Holder(alive.me.id, "box", 1)  # pid 1 runs (init): a live holder
        clock.now += 100
        assert alive.try_once() == ACTIVE  # took the expired lease
        clock.now += 1
        again = Lease(db, "ai-server-01", interval=15, clock=clock, monotonic=clock, host="box")
        assert again.try_once() == STANDBY
    finally:
        db.close()
