"""The Notifier: takes the alert engine's notices, keeps them in the outbox, delivers them.

The engine decides when a person should hear about an alert; the Notifier decides which
channels (routing.py), what they read (render.py) and makes delivery survive outages
and restarts: a failed send is retried with exponential backoff for at least a day.

When the outbox cannot be written (a full data disk) notices are held in memory (held.py) and
delivered from there; an outcome that cannot be recorded is remembered, so the row is not sent
again. Both are written to the outbox by the first round that can.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import update
from sqlalchemy.orm import Session

from opsplan.alerts.events import AlertNotice
from opsplan.errors import SecretError
from opsplan.metrics import MetricSpec, Sample, counter, gauge, sample
from opsplan.notify import outbox
from opsplan.notify.delivery import SendResult, send
from opsplan.notify.held import HeldNotices, HeldRow
from opsplan.notify.outbox import FAILED, PENDING, SENT, OutboxRow
from opsplan.notify.render import render
from opsplan.notify.routing import QuietHours, due_at, parse_quiet_hours, route
from opsplan.plan.models import Channel, Plan
from opsplan.plan.secrets import read_channel_url
from opsplan.store.health import disk_full
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

Clock = Callable[[], float]

METRICS: dict[str, MetricSpec] = {
    "opsplan_notifications_pending": gauge("Notifications in the outbox not yet delivered or given up"),
    "opsplan_notifications_sent_total": counter("Notifications delivered, per channel", "channel"),
    "opsplan_notifications_failed_total": counter(
        "Notifications given up after retrying (or whose channel left the plan), per channel", "channel"),
    "opsplan_notification_oldest_pending_seconds": gauge(
        "How long the oldest due, undelivered notification has waited", unit="seconds"),
}

PRUNE_AFTER = 30 * 86400.0
OUTBOX = "notification outbox"  # what /healthz names when the outbox cannot be written
# Only this process adds and sends outbox rows, so the worker sleeps until the next row is due or
# a notice arrives; it still looks at the outbox this often, and the backlog figures (read each
# cycle by the metrics) are read again at least this often.
IDLE_WAIT = 60.0
# While notifications are kept in memory (the outbox could not be written: a full disk), the worker
# tries to write them this often, so the outbox and /healthz recover soon after room is made.
HELD_RETRY = 5.0
# A row claimed for a send is left to its sender this long (every channel's send gives up well
# before): a sender killed mid-send (SIGKILL) leaves it to the next holder of serve's lease after it.
CLAIM_HOLD = 60.0


@dataclass(frozen=True)
class Retry:
    first: float = 30.0           # seconds before the second try, doubling each time
    ceiling: float = 15 * 60.0    # never wait longer than this between tries
    give_up_after: float = 86400.0  # from the first due time; an hour-long outage loses nothing

    def delay(self, attempts: int) -> float:
        return min(self.first * 2 ** max(attempts - 1, 0), self.ceiling)


@dataclass(frozen=True)
class Outcome:
    """What one attempt makes of a row (an outbox row or a held one: the same fields)."""

    status: str
    attempts: int
    next_try_at: float
    last_error: str | None
    sent_at: float | None

    def apply(self, row: OutboxRow | HeldRow) -> None:
        row.status, row.attempts, row.next_try_at = self.status, self.attempts, self.next_try_at
        row.last_error, row.sent_at = self.last_error, self.sent_at


@dataclass
class DeliveryRound:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def notice_key(notice: AlertNotice, now: float, repeat_every: float) -> str:
    """One key per thing worth hearing: a repeat counts per repeat interval, so an engine that
    submits the same repeat twice (after a restart) still sends it once."""
    parts = [notice.fingerprint, notice.kind, f"{notice.started_at:.3f}"]
    if notice.kind == "repeat":
        parts.append(str(int(max(now - notice.started_at, 0) // max(repeat_every, 1))))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


class _Claimed(NamedTuple):
    """What one claimed outbox row sends (read in the claim's transaction)."""

    channel: str
    title: str
    body: str
    notify_type: str
    attempts: int
    first_due_at: float
    alert: str


class _Queued:
    """One notice on its way into the outbox: its key, its text and when it is first due."""

    def __init__(self, notice: AlertNotice, now: float, plan: Plan, quiet: QuietHours | None):
        self.notice = notice
        self.now = now
        self.key = notice_key(notice, now, plan.notifications.critical_repeat)
        self.message = render(notice, plan)
        self.first_due = due_at(notice, now, quiet)

    def rows(self, names: list[str]) -> list[HeldRow]:
        notice, message = self.notice, self.message
        return [HeldRow(notice_key=self.key, channel=name, kind=notice.kind, fingerprint=notice.fingerprint[:200],
                        alert=notice.alert[:100], severity=notice.severity, title=message.title,
                        body=message.body, notify_type=message.notify_type, created_at=self.now,
                        first_due_at=self.first_due, next_try_at=self.first_due) for name in names]


class Notifier:
    def __init__(self, plan: Plan, db: StateDB, *, clock: Clock = time.time,
                 environ: Mapping[str, str] = os.environ, retry: Retry | None = None,
                 sender: Callable[[str, str, str, str], SendResult] = send):
        self.plan = plan
        self.db = db
        self.clock = clock
        self.environ = environ
        self.retry = retry or Retry()
        self._send = sender
        # In the claim's transaction: whether this process may still send (serve's lease, fencing);
        # None: the only sender (a command, a test).
        self.fence: Callable[[Session], bool] | None = None
        self.channels: dict[str, Channel] = {c.name: c for c in plan.notifications.channels}
        # People's own URLs (plan.oncall): delivered to, never routed to (pages only).
        self._direct: dict[str, Channel] = {c.name: c for c in plan.oncall.person_channels()}
        self.quiet: QuietHours | None = (parse_quiet_hours(plan.notifications.quiet_hours, plan.timezone)
                                         if plan.notifications.quiet_hours else None)
        self._sent = dict.fromkeys(self.channels, 0)
        self._failed = dict.fromkeys(self.channels, 0)
        self._deliver_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0
        self._held = HeldNotices()
        self._unrecorded: dict[int, Outcome] = {}  # outbox rows sent (or tried) whose outcome is not written
        # The outbox backlog as last read (when, what): read again after a notice or a delivery round.
        self._backlog: tuple[float, outbox.Backlog] | None = None

    # --- the engine's side -----------------------------------------------------------------------

    def submit(self, notice: AlertNotice) -> int:
        """Write the notice to the outbox for each of its channels, in one transaction; returns
        how many rows are new. Nothing is sent here: the worker (or deliver_due) sends."""
        return self.submit_all([notice])

    def submit_all(self, notices: Sequence[AlertNotice]) -> int:
        """`submit` for one cycle's notices together, in one transaction: when 100 alerts fire at
        once the cycle commits once, not 100 times."""
        if not notices:
            return 0
        self._backlog = None
        now = self.clock()
        queued = [_Queued(notice, now, self.plan, self.quiet) for notice in notices]
        try:
            with self.db.session() as session:
                resolved = [item.notice.fingerprint for item in queued if item.notice.kind == "resolved"]
                went = outbox.firing_channels_of(session, resolved)
                planned = []
                for item in queued:
                    names = self._targets(session, item.notice, went)
                    planned.append((item, names, [r.to_row() for r in item.rows(names)]))
                new = {id(row) for row in outbox.add_new(session, [row for *_, rows in planned for row in rows])}
                outcome = [(item, names, sum(id(row) in new for row in rows)) for item, names, rows in planned]
            self._backlog = None  # again: a metrics read may have come between the first and the write
        except Exception as exc:  # noqa: BLE001 - the outbox cannot be written: deliver from memory
            self.db.health.failed(OUTBOX, exc)
            return self._hold(queued)
        for item, names, added in outcome:
            notice = item.notice
            if added:
                deferred = " until the quiet hours end" if item.first_due > now else ""
                log.info("notification %s %s queued for %d channel(s)%s", notice.kind, notice.alert, added, deferred)
            elif not names:
                log.info("notification %s %s (%s): no channel takes it", notice.kind, notice.alert, notice.severity)
        total = sum(added for _, _, added in outcome)
        if total:
            self._wake.set()
        return total

    def _hold(self, queued: list[_Queued]) -> int:
        total = 0
        for item in queued:
            added = self._held.add(item.rows(self._targets(None, item.notice)))
            if added:
                log.warning("notification %s %s held in memory for %d channel(s): the outbox cannot be written",
                            item.notice.kind, item.notice.alert, added)
            total += added
        if total:
            self._wake.set()
        return total

    def _targets(self, session: Session | None, notice: AlertNotice,
                 stored: Mapping[str, list[str]] | None = None) -> list[str]:
        """The channels a notice goes to: a resolved one to where its firing went (`stored`: those
        already read from the outbox, by fingerprint), any other by the plan's routes."""
        if notice.kind == "resolved":
            went = self._held.channels_of(notice.fingerprint)
            if session is not None:
                firing = (stored.get(notice.fingerprint, []) if stored is not None
                          else outbox.firing_channels(session, notice.fingerprint))
                went = list(dict.fromkeys([*firing, *went]))
            if went:
                return [name for name in went if name in self.channels]
        return [c.name for c in route(notice, list(self.channels.values()))]

    # --- delivery --------------------------------------------------------------------------------

    def deliver_due(self, now: float | None = None) -> DeliveryRound:
        """Send every row that is due at `now` (default: the clock); one round, then return."""
        with self._deliver_lock:
            now = self.clock() if now is None else now
            self._write_held()
            ids: list[int] = []
            try:
                with self.db.session() as session:
                    ids = outbox.due_ids(session, now)
            except Exception as exc:  # noqa: BLE001 - an outbox that cannot be read: the held rows still go
                log.debug("outbox not read: %s", exc)
            result = DeliveryRound()
            for row_id in ids:
                if row_id not in self._unrecorded and not self._deliver_one(row_id, now, result):
                    break  # this serve lost the plan's lease: the new holder sends the rest
            for held in self._held.due(now):
                self._deliver_held(held, now, result)
            self._backlog = None
            return result

    def _write_held(self) -> None:
        """Write what was kept in memory: outcomes not recorded, then the held rows as they stand now."""
        if not self._unrecorded and not len(self._held):
            return
        try:
            with self.db.session() as session:
                for row_id, outcome in self._unrecorded.items():
                    row = session.get(OutboxRow, row_id)
                    if row is not None and row.status == PENDING:
                        outcome.apply(row)
                outbox.add_new(session, [held.to_row() for held in self._held.rows()])
        except Exception as exc:  # noqa: BLE001 - still cannot write: keep them, try next round
            self.db.health.failed(OUTBOX, exc)
            return
        count = len(self._unrecorded) + self._held.clear()
        self._unrecorded.clear()
        log.warning("notification outbox caught up: %d notification(s) kept in memory are written", count)
        self.db.health.succeeded(OUTBOX)

    def _deliver_one(self, row_id: int, now: float, result: DeliveryRound) -> bool:
        """Claim, send, record; False when this process may no longer send (it lost serve's lease)."""
        claimed = self._claim(row_id, now)
        if claimed is None:
            return False
        if not claimed:
            return True
        channel_name, title, body, kind, attempts, first_due, alert = claimed[0]
        channel = self.channels.get(channel_name) or self._direct.get(channel_name)
        try:
            outcome = self._outcome(channel, channel_name, title, body, kind, attempts, first_due, now)
        except BaseException:  # the send itself failed in this process (a plugin's exit): due again at once
            self._unclaim(row_id, now)
            raise
        try:
            with self.db.session() as session:
                stored = session.get(OutboxRow, row_id)
                if stored is None or stored.status != PENDING:
                    return True
                outcome.apply(stored)
        except Exception as exc:  # noqa: BLE001 - sent but not recorded: remembered, so never sent twice
            self.db.health.failed(OUTBOX, exc)
            self._unrecorded[row_id] = outcome
        self._tally(outcome, alert, channel_name, now, result)
        return True

    def _unclaim(self, row_id: int, now: float) -> None:
        try:
            with self.db.session() as session:
                session.execute(update(OutboxRow).where(
                    OutboxRow.id == row_id, OutboxRow.status == PENDING, OutboxRow.next_try_at == now + CLAIM_HOLD,
                ).values(next_try_at=now))
        except Exception as exc:  # noqa: BLE001 - then it is retried when the claim runs out
            log.debug("outbox row %d not released: %s", row_id, exc)

    def _claim(self, row_id: int, now: float) -> list[_Claimed] | None:
        """In one short transaction (none is held open across a network send, which would block the
        loop's writes to the same SQLite file): check the fence, then move the row's next try past
        CLAIM_HOLD if it is still pending and due. [what to send] when claimed, [] when another
        sender has it or it is done, None when this process lost the lease."""
        read: _Claimed | None = None
        try:
            with self.db.session() as session:
                if self.fence is not None and not self.fence(session):
                    return None
                row = session.get(OutboxRow, row_id)
                if row is None or row.status != PENDING or row.next_try_at > now:
                    return []
                read = _Claimed(row.channel, row.title, row.body, row.notify_type, row.attempts,
                                row.first_due_at, row.alert)
                taken = session.execute(update(OutboxRow).where(
                    OutboxRow.id == row_id, OutboxRow.status == PENDING, OutboxRow.next_try_at <= now,
                ).values(next_try_at=now + CLAIM_HOLD))
                return [read] if int(getattr(taken, "rowcount", 0) or 0) == 1 else []
        except Exception as exc:  # noqa: BLE001 - not claimed (a takeover raced it, the database is away)
            if read is not None and disk_full(exc):
                # A full disk: nobody can claim or take over; send, and remember the outcome (as ever).
                return [read]
            log.debug("outbox row %d not claimed: %s", row_id, exc)
            return []

    def _deliver_held(self, held: HeldRow, now: float, result: DeliveryRound) -> None:
        channel = self.channels.get(held.channel) or self._direct.get(held.channel)
        outcome = self._outcome(channel, held.channel, held.title, held.body, held.notify_type, held.attempts,
                                held.first_due_at, now)
        outcome.apply(held)
        self._tally(outcome, held.alert, held.channel, now, result)

    def _outcome(self, channel: Channel | None, name: str, title: str, body: str, kind: str, attempts: int,
                 first_due: float, now: float) -> Outcome:
        sent = self._attempt(channel, name, title, body, kind)
        attempts += 1
        if sent.ok:
            return Outcome(SENT, attempts, now, None, now)
        if channel is None or now - first_due >= self.retry.give_up_after:
            return Outcome(FAILED, attempts, now, sent.reason, None)
        return Outcome(PENDING, attempts, now + self.retry.delay(attempts), sent.reason, None)

    def _tally(self, outcome: Outcome, alert: str, channel_name: str, now: float, result: DeliveryRound) -> None:
        status, attempts, next_try = outcome.status, outcome.attempts, outcome.next_try_at
        if status == SENT:
            result.sent += 1
            self._sent[channel_name] = self._sent.get(channel_name, 0) + 1
            log.info("notification %s sent to channel %s (attempt %d)", alert, channel_name, attempts)
        elif status == FAILED:
            result.failed += 1
            self._failed[channel_name] = self._failed.get(channel_name, 0) + 1
            log.error("notification %s to channel %s given up after %d attempt(s): %s",
                      alert, channel_name, attempts, outcome.last_error)
        else:
            result.retried += 1
            log.warning("notification %s to channel %s failed (attempt %d), retry in %.0fs: %s",
                        alert, channel_name, attempts, next_try - now, outcome.last_error)

    def _attempt(self, channel: Channel | None, name: str, title: str, body: str, kind: str) -> SendResult:
        if channel is None:
            return SendResult(False, f"channel '{name}' is no longer in the plan")
        return attempt(channel, title, body, kind, environ=self.environ, sender=self._send)

    # --- the worker thread -----------------------------------------------------------------------

    def start(self) -> None:
        """Deliver on a thread of its own (`serve` runs `run` under its supervisor instead)."""
        if self._thread is not None:
            return
        self.warn_unavailable_channels()
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="opsplan-notify", daemon=True)
        self._thread.start()

    def warn_unavailable_channels(self) -> None:
        for channel in self.channels.values():
            problem = channel_problem(channel, self.environ)
            if problem:
                log.warning("notification channel %s is unavailable: %s; its notifications wait in the outbox",
                            channel.name, problem)

    def wake(self) -> None:
        """Look at the outbox now: rows written by another stage (an incident page) are due."""
        self._backlog = None
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        """Deliver what is due, round after round, until `request_stop`."""
        while not self._stop.is_set():
            wait = 5.0
            try:
                self.deliver_due()
                upcoming = self._upcoming()
                wait = IDLE_WAIT if upcoming is None else min(max(upcoming - self.clock(), 0.2), IDLE_WAIT)
                if self._unrecorded or len(self._held):
                    wait = min(wait, HELD_RETRY)
            except Exception:  # noqa: BLE001 - a bug in one round must not end delivery; try again shortly
                log.exception("notification delivery round failed; retrying")
            self._wake.wait(wait)
            self._wake.clear()

    def _upcoming(self) -> float | None:
        """When the next row is due (held ones included); prunes old rows once an hour."""
        now = self.clock()
        times = [held.next_try_at for held in self._held.pending()]
        try:
            with self.db.session() as session:
                times.append(outbox.next_due(session) or math.inf)
                if now - self._last_prune > 3600:
                    outbox.prune(session, now - PRUNE_AFTER)
                    self._last_prune = now
        except Exception as exc:  # noqa: BLE001 - the database may be full or away: held rows still count
            log.debug("outbox not read: %s", exc)
        soonest = min(times, default=math.inf)
        return None if soonest == math.inf else soonest

    # --- metrics ---------------------------------------------------------------------------------

    def _current_backlog(self, now: float) -> outbox.Backlog:
        """The outbox backlog; the last reading while nothing was submitted or delivered since (a
        deferred row falling due is a delivery round too) and it is under IDLE_WAIT old."""
        known = self._backlog
        if known is not None and 0 <= now - known[0] < IDLE_WAIT:
            return known[1]
        try:
            with self.db.session() as session:
                backlog = outbox.backlog(session, now)
        except Exception:  # noqa: BLE001 - the database is away: count what is held in memory
            return outbox.Backlog(0, None)
        self._backlog = (now, backlog)
        return backlog

    def samples(self) -> list[Sample]:
        now = self.clock()
        backlog = self._current_backlog(now)
        held = self._held.pending()
        due = [r.first_due_at for r in held if r.first_due_at <= now]
        oldest = min([*due, *([backlog.oldest_due] if backlog.oldest_due is not None else [])], default=None)
        out = [sample("opsplan_notifications_pending", backlog.pending + len(held)),
               sample("opsplan_notification_oldest_pending_seconds",
                      max(now - oldest, 0.0) if oldest is not None else 0.0)]
        out += [sample("opsplan_notifications_sent_total", n, channel=name) for name, n in self._sent.items()]
        out += [sample("opsplan_notifications_failed_total", n, channel=name) for name, n in self._failed.items()]
        return out


def attempt(channel: Channel, title: str, body: str, kind: str = "info", *,
            environ: Mapping[str, str] = os.environ,
            sender: Callable[[str, str, str, str], SendResult] = send) -> SendResult:
    """Read the channel's URL now (it may have been fixed since the last try) and send once."""
    try:
        url = read_channel_url(channel, environ)
    except SecretError as exc:
        return SendResult(False, str(exc))
    if url is None:
        return SendResult(False, unavailable_reason(channel))
    return sender(url, title, body, kind)


def unavailable_reason(channel: Channel) -> str:
    # read_channel_url returns None only when the variable is unset and there is no file.
    if channel.url_env:
        return f"environment variable {channel.url_env} is not set"
    return "the channel has neither url_env nor url_file"


def channel_problem(channel: Channel, environ: Mapping[str, str]) -> str | None:
    """Why the channel's URL cannot be read now, or None; never the URL itself."""
    try:
        url = read_channel_url(channel, environ)
    except SecretError as exc:
        return str(exc)
    return None if url else unavailable_reason(channel)


def build_notifier(plan: Plan, state_db: StateDB, *, clock: Clock = time.time,
                   environ: Mapping[str, str] = os.environ) -> Notifier:
    """The Notifier `opsplan serve` runs: `submit` from the alert engine, `start`/`stop` with the
    server, `samples` added to each collection cycle."""
    return Notifier(plan, state_db, clock=clock, environ=environ)
