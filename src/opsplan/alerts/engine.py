"""The embedded alert engine: every cycle, each rule over the cycle's samples, one state machine per
subject (inactive → pending → firing → resolved), Critical inhibiting its Warning, silences and
acknowledgements from the state database, and notices handed to notifications.

The engine keeps its instances in memory and writes only changes to the state database, so a
new engine over the same database (a restart) carries on where the last one stopped: a firing
alert stays firing and its notice is not sent again. Notices are recorded as sent before they are
handed on: a crash between the two loses one notice rather than sending it twice.

When the state database cannot write (a full data disk) evaluation goes on from memory and notices
are handed on all the same; what could not be written waits (see `Backlog`) and is written by the
first cycle that can, so the database catches up with nothing lost and nothing sent twice. An
engine started while the database cannot even be opened reads the stored alerts once it can and
merges them with what it found meanwhile.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opsplan import format as fmt
from opsplan.alerts import heartbeat
from opsplan.alerts.backlog import Backlog
from opsplan.alerts.events import AlertNotice, NoticeKind
from opsplan.alerts.external import parse_payload
from opsplan.alerts.format import fill, format_value, subject_text
from opsplan.alerts.instance import Instance, Key, fingerprint_of, load_active, persist, read_acks
from opsplan.alerts.silences import Silence, load_silences, silenced_by
from opsplan.metrics import Cycle, SampleIndex, sample
from opsplan.plan.models import Plan, Text
from opsplan.rules.model import OPS, Rule
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

GRACE_INTERVALS = 3  # a series missing this many intervals resolves its alert with reason "no data"
STATE = "state database"  # what /healthz names when the alert state cannot be written


class AlertEngine:
    def __init__(self, plan: Plan, rules: Sequence[Rule], state_db: StateDB, *,
                 notice_sink: Callable[[AlertNotice], None], clock: Callable[[], float] = time.time,
                 host: str | None = None, console_url: str | None = None):
        self.plan = plan
        self.rules = list(rules)
        self.rules_by_id = {rule.id: rule for rule in self.rules}
        self.db = state_db
        self.notice_sink = notice_sink
        self.clock = clock
        self.host = host or socket.gethostname()
        self.console_url = console_url
        self.grace = GRACE_INTERVALS * plan.monitoring.interval
        self.repeat = plan.notifications.critical_repeat
        self.last_evaluation_seconds = 0.0
        # One lock: the collection loop evaluates while the web thread acks or ingests webhooks.
        self._lock = threading.RLock()
        self._fingerprints: dict[tuple[str, tuple[str, ...]], str] = {}
        self._silences: list[Silence] = []
        self._acks: dict[str, tuple[str | None, float | None, str | None]] = {}
        self._backlog = Backlog()
        self._active: dict[str, Instance] = {}
        self._loaded = False
        self._last_beat = -math.inf
        try:
            self._load(clock())
        except Exception as exc:  # noqa: BLE001 - a database that cannot be read yet is read later
            state_db.health.failed(STATE, exc)

    # --- the stage ------------------------------------------------------------------------------

    def on_cycle(self, cycle: Cycle) -> None:
        started = time.perf_counter()
        now = self.clock()
        with self._lock:
            dropped: list[Instance] = []
            index = SampleIndex(cycle.samples)
            for rule in self.rules:
                self._evaluate(rule, index, now, dropped)
            self._sweep(now, dropped)
            # Silences and acknowledgements bear only on active alerts: on a quiet box they are not read.
            if self._active:
                self._refresh(now)
            notices = self._settle(now, dropped)
            counts = {"critical": 0, "warning": 0}
            pending = 0
            for inst in self._active.values():
                if inst.state == "firing":
                    counts[inst.severity] = counts.get(inst.severity, 0) + 1
                elif inst.state == "pending":
                    pending += 1
        self._send(notices)
        self._beat(now)
        self.last_evaluation_seconds = time.perf_counter() - started
        cycle.samples.extend([
            *(sample("opsplan_alerts_firing", n, severity=sev) for sev, n in sorted(counts.items())),
            sample("opsplan_alerts_pending", pending),
            sample("opsplan_alert_rules", len(self.rules)),
            sample("opsplan_rule_evaluation_seconds", self.last_evaluation_seconds),
        ])

    __call__ = on_cycle

    def _beat(self, now: float) -> None:
        """Once a minute, that evaluation goes on (`alerts list` calls the states stale without it)."""
        if now - self._last_beat < heartbeat.EVERY:
            return
        try:
            heartbeat.record(self.db, now)
        except Exception as exc:  # noqa: BLE001 - a heartbeat that cannot be written is tried next cycle
            log.debug("alert heartbeat not written: %s", exc)
            return
        self._last_beat = now

    def _refresh(self, now: float) -> None:
        """Silences and acknowledgements that the CLI or the API wrote since the last cycle (the last
        ones read stay in force while the database cannot be read)."""
        try:
            self._silences = load_silences(self.db, now)
            self._acks = read_acks(self.db)
        except Exception as exc:  # noqa: BLE001 - a database that cannot be read keeps the last ones read
            log.debug("silences and acknowledgements not read: %s", exc)
        for fp, inst in self._active.items():
            by, at, comment = self._acks.get(fp, (None, None, None))
            inst.ack_by, inst.ack_at, inst.ack_comment = by, at, comment

    def reload(self) -> None:
        """Forget what this engine holds and read the alerts the state database has: a standby `serve`
        taking over the plan's lease goes on from where the last holder left (nothing fires twice)."""
        with self._lock:
            self._active.clear()
            self._backlog = Backlog()
            try:
                self._load(self.clock())
            except Exception as exc:  # noqa: BLE001 - a database that cannot be read yet is read later
                self._loaded = False
                self.db.health.failed(STATE, exc)

    def _load(self, now: float) -> None:
        """The alerts the last engine left, merged with any this engine found before it could read them."""
        stored = load_active(self.db, now)
        for old in stored:
            if self._backlog.adopt_row(old):
                continue  # it resolved while the database was away: the write resolves its row
            mine = self._active.get(old.fingerprint)
            if mine is None:
                self._active[old.fingerprint] = old
            elif old.state == "firing" and mine.state == "pending":
                # Still the same trouble: it keeps firing since its first start and is not heard of twice.
                old.value, old.last_seen, old.dirty = mine.value, mine.last_seen, True
                self._active[old.fingerprint] = old
            else:
                mine.row_id, mine.dirty = old.row_id, True
                mine.notified = mine.notified or (old.notified and mine.state == "firing")
        self._loaded = True

    def _evaluate(self, rule: Rule, index: SampleIndex, now: float, dropped: list[Instance]) -> None:
        condition = rule.condition
        holds = OPS[condition.op]
        threshold = condition.threshold
        guard = rule.guard
        # No guard sample for a subject means no traffic: the rule does not apply to it.
        guards = index.values_by_subject(guard.metric, guard.matchers, rule.subject) if guard is not None else None
        active = self._active
        for s in index.select(condition.metric, condition.matchers):
            subject = tuple(s.label(name) or "" for name in rule.subject)
            fp = self._fingerprints.get((rule.id, subject))
            if fp is None:
                fp = fingerprint_of(rule.id, tuple(zip(rule.subject, subject, strict=True)))
                self._fingerprints[(rule.id, subject)] = fp
            value = s.value
            applies = True
            if guards is not None and guard is not None:
                traffic = guards.get(subject)
                applies = traffic is not None and guard.holds(traffic)
            breach = applies and not math.isnan(value) and holds(value, threshold)
            inst = active.get(fp)
            if inst is None:
                if not breach:
                    continue
                inst = active[fp] = self._new(rule, fp, subject, value, now)
            inst.last_seen = now
            self._step(inst, rule, value, breach, applies, now, dropped)

    def _new(self, rule: Rule, fp: str, subject: tuple[str, ...], value: float, now: float) -> Instance:
        subject_labels = dict(zip(rule.subject, subject, strict=True))
        labels = {"alertname": rule.alert, "severity": rule.severity, **subject_labels, **dict(rule.labels)}
        return Instance(
            fingerprint=fp, source="opsplan", rule_id=rule.id, alert=rule.alert, severity=rule.severity,
            labels=labels, subject=subject_text(subject_labels, rule.subject),
            subject_key=tuple(sorted(subject_labels.items())), state="pending", value=value,
            threshold=rule.condition.threshold, for_s=rule.for_s, texts={}, annotations={},
            active_since=now, last_seen=now)

    def _step(self, inst: Instance, rule: Rule, value: float, breach: bool, applies: bool, now: float,
              dropped: list[Instance]) -> None:
        if inst.value != value:
            inst.value = value
            if now - inst.value_written_at >= 60.0:
                inst.dirty = True
        if inst.state == "pending":
            if not breach:  # stopped before its duration: back to inactive, nobody hears of it
                dropped.append(self._active.pop(inst.fingerprint))
            elif now - inst.active_since >= rule.for_s:
                inst.state, inst.started_at, inst.dirty = "firing", now, True
        elif inst.state == "firing" and (not applies or rule.clears(value)):
            self._resolve(inst, now, "value")

    def _resolve(self, inst: Instance, now: float, reason: str) -> None:
        inst.state, inst.resolved_at, inst.resolved_reason, inst.dirty = "resolved", now, reason, True

    def _sweep(self, now: float, dropped: list[Instance]) -> None:
        """Series that stopped reporting, and rules the plan no longer has."""
        for inst in list(self._active.values()):
            if inst.source != "opsplan" or inst.state == "resolved":
                continue
            if inst.rule_id not in self.rules_by_id:
                self._resolve(inst, now, "rule removed")
            elif now - inst.last_seen > self.grace:
                if inst.state == "pending":
                    dropped.append(self._active.pop(inst.fingerprint))
                else:
                    self._resolve(inst, now, "no data")

    # --- inhibition, silences, notices, persistence ---------------------------------------------

    def _settle(self, now: float, dropped: list[Instance]) -> list[AlertNotice]:
        critical: set[tuple[str, str, Key]] = {
            (i.source, i.alert, i.subject_key) for i in self._active.values()
            if i.state == "firing" and i.severity == "critical"}
        notices: list[AlertNotice] = []
        for inst in list(self._active.values()):
            inhibited = (inst.severity == "warning" and inst.state != "resolved"
                         and (inst.source, inst.alert, inst.subject_key) in critical)
            if inhibited != inst.inhibited:
                inst.inhibited, inst.dirty = inhibited, True
            kind = self._notice_kind(inst, now)
            if kind is not None:
                inst.last_notice_at, inst.dirty = now, True
                if kind == "firing":
                    inst.notified = True
            if inst.dirty and inst.source == "opsplan":
                self._fill_texts(inst)
            if kind is not None:
                notices.append(self._notice(inst, kind))
        # Written or not, the notices go out: an alert must be heard while the disk is full. Unwritten
        # changes wait in the backlog, so a crash before the catch-up may repeat a notice, never lose one.
        written = self._write(now, dropped)
        for inst in [i for i in self._active.values() if i.state == "resolved"]:
            del self._active[inst.fingerprint]
            if not written:
                self._backlog.keep(inst)
        return notices

    def _write(self, now: float, dropped: list[Instance]) -> bool:
        """Every change not yet in the database, this cycle's and the backlog's, in one transaction."""
        changed = [i for i in self._active.values() if i.dirty]
        gone = self._backlog.drops(dropped)
        try:
            if not self._loaded:
                self._load(now)
                changed = [i for i in self._active.values() if i.dirty]
            persist(self.db, [*self._backlog.instances(), *changed], gone, now)
        except Exception as exc:  # noqa: BLE001 - any failure to write: keep it in memory, try next cycle
            self._backlog.hold_drops(gone)
            self.db.health.failed(STATE, exc)
            return False
        caught_up = self._backlog.clear()
        if caught_up:
            log.warning("alert state caught up: %d change(s) kept in memory are written", caught_up)
        self.db.health.succeeded(STATE)
        return True

    def _notice_kind(self, inst: Instance, now: float) -> NoticeKind | None:
        inst.silenced = silenced_by(self._silences, inst.labels, now)
        if inst.silenced:
            return None
        if inst.state == "resolved":
            return "resolved" if inst.notified else None
        if inst.state != "firing" or inst.inhibited:
            return None
        if not inst.notified:
            return "firing"
        if (inst.severity == "critical" and inst.ack_at is None and self.repeat > 0
                and now - (inst.last_notice_at or inst.started_at or now) >= self.repeat):
            return "repeat"
        return None

    def _fill_texts(self, inst: Instance) -> None:
        rule = self.rules_by_id.get(inst.rule_id)
        if rule is None:
            return
        metric = rule.condition.metric
        value, threshold = format_value(metric, inst.value), format_value(metric, inst.threshold)
        subject = Text(ko=self.subject_in(inst, "ko") or self.host, en=inst.subject or self.host)
        # Korean writes a whole number without its '.0' (KOREAN.md rule 9): '99%', not '99.0%'.
        values = {"subject": subject, "value": Text(ko=fmt.in_language(value, "ko"), en=value),
                  "threshold": Text(ko=fmt.in_language(threshold, "ko"), en=threshold)}
        inst.texts = {
            "summary": fill(rule.summary, **values).model_dump(),
            "description": fill(rule.description, **values).model_dump(),
            "value": value, "threshold": threshold,
        }

    def subject_in(self, inst: Instance, language: str) -> str:
        """What the alert is about in `language`: 'GPU 0 그룹 ai' in Korean, 'gpu 0 group ai' in English."""
        rule = self.rules_by_id.get(inst.rule_id)
        if language == "en" or rule is None:
            return inst.subject
        groups = {g.id: g.name.get(language) for g in self.plan.allocation}
        return subject_text(dict(inst.subject_key), rule.subject, language, groups)

    def _notice(self, inst: Instance, kind: NoticeKind) -> AlertNotice:
        return AlertNotice(
            kind=kind, fingerprint=inst.fingerprint, alert=inst.alert,
            severity="critical" if inst.severity == "critical" else "warning", labels=dict(inst.labels),
            subject=inst.subject, summary=inst.text("summary"), description=inst.text("description"),
            value=inst.value, threshold=inst.threshold if inst.threshold is not None else math.nan,
            for_s=inst.for_s, started_at=inst.started_at or inst.active_since, resolved_at=inst.resolved_at,
            source="prometheus" if inst.source == "prometheus" else "opsplan",
            annotations=dict(inst.annotations), host=self.host, console_url=self.console_url,
            subject_ko=self.subject_in(inst, "ko"),
            value_text=str(inst.texts.get("value", "")), threshold_text=str(inst.texts.get("threshold", "")))

    def _send(self, notices: list[AlertNotice]) -> None:
        if not notices:
            return
        publish = getattr(self.notice_sink, "publish", None)
        if callable(publish):  # the notice fan-out: a cycle's notices at once (one outbox transaction)
            try:
                publish(notices)
            except Exception:  # noqa: BLE001 - the fan-out guards each subscriber; this guards the fan-out
                log.exception("%d notice(s) could not be handed to notifications", len(notices))
            return
        for notice in notices:
            try:
                self.notice_sink(notice)
            except Exception:  # noqa: BLE001 - one failing hand-off must not stop the others
                log.exception("notice %s %s could not be handed to notifications", notice.kind, notice.alert)

    # --- external alerts, acknowledgements ------------------------------------------------------

    def ingest_external(self, payload: dict[str, Any]) -> int:
        """An Alertmanager webhook payload (version 4); returns how many alerts changed state."""
        alerts = parse_payload(payload)
        now = self.clock()
        changes = 0
        with self._lock:
            self._refresh(now)
            for ext in alerts:
                inst = self._active.get(ext.fingerprint)
                if ext.status == "firing" and inst is None:
                    self._active[ext.fingerprint] = ext.instance(now)
                    changes += 1
                elif ext.status == "resolved" and inst is not None and inst.state != "resolved":
                    self._resolve(inst, ext.ends_at or now, "resolved upstream")
                    changes += 1
                elif ext.status == "firing" and inst is not None and inst.annotations != ext.annotations:
                    inst.annotations, inst.texts, inst.dirty = ext.annotations, ext.texts(), True
            notices = self._settle(now, []) if changes or any(i.dirty for i in self._active.values()) else []
        self._send(notices)
        return changes

    def active(self) -> list[Instance]:
        with self._lock:
            return list(self._active.values())

    def firing_notices(self) -> list[AlertNotice]:
        """A "firing" notice again for each alert firing now whose firing notice went out: for a sink
        that was not listening then (the incident stage catches up on its first cycle after a start)."""
        with self._lock:
            return [self._notice(i, "firing") for i in self._active.values() if i.state == "firing" and i.notified]

    def rule_texts(self) -> dict[str, Text]:
        return {rule.id: rule.summary for rule in self.rules}
