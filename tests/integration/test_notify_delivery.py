"""Delivery through real servers on loopback: an SMTP server (aiosmtpd) and a JSON webhook.

The clock is injected: retries, backoff and quiet hours are driven by moving it, never by sleeping.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from opsplan.alerts.events import AlertNotice
from opsplan.cli.main import app
from opsplan.notify.outbox import OutboxRow
from opsplan.notify.service import IDLE_WAIT, Notifier, build_notifier
from opsplan.plan.models import Plan, Text
from opsplan.store.state import StateDB
from state_engines import sqlite_only
from yaml_writer import free_port, write_plan

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # apprise imports imghdr

SEOUL = ZoneInfo("Asia/Seoul")
TOKEN = "FAKE-TOKEN-9f8e7d6c5b4a"


def seoul(hour: int, minute: int = 0, day: int = 27) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=SEOUL).timestamp()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Webhook:
    """A JSON webhook receiver on 127.0.0.1 that can be down, then started on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict] = []
        self.paths: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received, paths = self.received, self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                paths.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}/{TOKEN}"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture
def db(engine_state_url: str) -> Iterator[StateDB]:
    state = StateDB.open(engine_state_url)
    yield state
    state.close()


def plan_with(channels: list[dict], **extra: object) -> Plan:
    return Plan.model_validate({"notifications": {"channels": channels, **extra}, "language": "ko",
                                "web": {"bind": "127.0.0.1", "port": 8080}})


def notice(severity: str = "critical", kind: str = "firing", fingerprint: str = "cpu", **extra: object) -> AlertNotice:
    values: dict = dict(kind=kind, fingerprint=fingerprint, alert="CpuUsageHigh", severity=severity,
                        labels={"alert": "CpuUsageHigh", "severity": severity}, subject="",
                        summary=Text(ko="CPU 사용률 높음", en="CPU usage high"),
                        description=Text(ko="CPU 사용률이 임계값을 넘었습니다", en="CPU usage is above threshold"),
                        value=95.0, threshold=90.0 if severity == "critical" else 80.0, for_s=300.0,
                        started_at=seoul(14, 0), annotations={"unit": "%"})
    values.update(extra)
    return AlertNotice(**values)


def rows(db: StateDB) -> list[OutboxRow]:
    with db.session() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


@sqlite_only
def test_email_arrives_in_korean_with_value_threshold_host_and_console(db, smtp):
    box, port = smtp
    url = f"mailto://127.0.0.1:{port}?from=opsplan@example.com&to=oncall@example.com&mode=insecure"
    plan = plan_with([{"name": "mail", "kind": "email", "url_env": "MAIL_URL"}])
    notifier = build_notifier(plan, db, clock=Clock(seoul(14, 5)), environ={"MAIL_URL": url})
    assert notifier.submit(notice("critical")) == 1
    assert notifier.deliver_due().sent == 1
    [message] = box.messages
    assert message["Subject"] == "[Critical] ai-server-01: CPU 사용률 높음 (CpuUsageHigh)"
    assert message["To"] == "oncall@example.com"
    body = message.get_body(preferencelist=("plain",)).get_content()
    for expected in ("CPU 사용률 높음", "현재 값: 95%", "임계값: 90%", "지속 조건: 5분 이상", "호스트: ai-server-01",
                     "시작: 2026-11-27 14:00:00 KST", "콘솔: http://127.0.0.1:8080/"):
        assert expected in body, expected
    assert [r.status for r in rows(db)] == ["sent"]


@sqlite_only
def test_json_webhook_gets_title_body_and_type(db, webhook):
    webhook.start()
    plan = plan_with([{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}])
    notifier = build_notifier(plan, db, clock=Clock(seoul(14, 5)), environ={"HOOK_URL": webhook.url()})
    notifier.submit(notice("critical"))
    notifier.deliver_due()
    [payload] = webhook.received
    assert payload["title"] == "[Critical] ai-server-01: CPU 사용률 높음 (CpuUsageHigh)"
    assert payload["type"] == "failure"
    assert "임계값: 90%" in payload["message"] and "콘솔: http://127.0.0.1:8080/" in payload["message"]
    assert webhook.paths[0].startswith("/hook")


def test_a_webhook_down_then_up_gets_everything_once_after_backoff(db, webhook):
    clock = Clock(seoul(14, 5))
    plan = plan_with([{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}])
    notifier = build_notifier(plan, db, clock=clock, environ={"HOOK_URL": webhook.url()})
    notifier.submit(notice("critical", fingerprint="cpu"))
    notifier.submit(notice("critical", fingerprint="disk"))
    # Down for an hour: each round fails, the wait between tries doubles up to 15 minutes.
    waits = []
    start = clock.now
    while clock.now - start < 3600:
        round_ = notifier.deliver_due()
        assert round_.sent == 0 and round_.failed == 0
        [first, _] = rows(db)
        waits.append(first.next_try_at - clock.now)
        clock.now = first.next_try_at
    assert waits[:4] == [30, 60, 120, 240] and max(waits) == 900
    assert first.last_error and "127.0.0.1" in first.last_error  # apprise's reason, not the URL
    assert TOKEN not in first.last_error
    pending = {s.name: s.value for s in notifier.samples() if not s.labels}
    assert pending["opsplan_notifications_pending"] == 2
    assert pending["opsplan_notification_oldest_pending_seconds"] >= 3600
    webhook.start()
    assert notifier.deliver_due().sent == 2
    assert notifier.deliver_due(clock.now + 86400).sent == 0
    assert len(webhook.received) == 2
    assert {r.status for r in rows(db)} == {"sent"}
    sent = {s.label("channel"): s.value for s in notifier.samples() if s.name == "opsplan_notifications_sent_total"}
    assert sent == {"hook": 2}


def test_a_channel_down_for_a_day_is_given_up_and_counted(db, webhook):
    clock = Clock(seoul(14, 5))
    plan = plan_with([{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}])
    notifier = build_notifier(plan, db, clock=clock, environ={"HOOK_URL": webhook.url()})
    notifier.submit(notice("critical"))
    notifier.deliver_due()
    clock.now += 23 * 3600
    notifier.deliver_due()
    assert rows(db)[0].status == "pending"
    clock.now += 3600
    assert notifier.deliver_due().failed == 1
    assert rows(db)[0].status == "failed"
    failed = {s.label("channel"): s.value for s in notifier.samples() if s.name == "opsplan_notifications_failed_total"}
    assert failed == {"hook": 1}


def test_a_restarted_notifier_resumes_pending_rows_and_never_resends_sent_ones(tmp_path, webhook):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    clock = Clock(seoul(14, 5))
    plan = plan_with([{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}])
    environ = {"HOOK_URL": webhook.url()}
    webhook.start()
    first_db = StateDB.open(url)
    first = build_notifier(plan, first_db, clock=clock, environ=environ)
    first.submit(notice("critical", fingerprint="cpu"))
    first.deliver_due()
    webhook.stop()
    first.submit(notice("critical", fingerprint="disk"))
    first.deliver_due()
    first_db.close()  # the process dies with "disk" pending
    webhook.start()
    second_db = StateDB.open(url)
    second = build_notifier(plan, second_db, clock=clock, environ=environ)
    second.submit(notice("critical", fingerprint="cpu"))  # an engine restart may submit it again
    assert second.deliver_due(clock.now + 60).sent == 1
    second_db.close()
    assert [p["title"] for p in webhook.received] == ["[Critical] ai-server-01: CPU 사용률 높음 (CpuUsageHigh)"] * 2
    assert len(webhook.received) == 2


@sqlite_only
def test_quiet_hours_hold_a_warning_until_morning_but_not_a_critical(db, webhook):
    webhook.start()
    clock = Clock(seoul(23, 0))
    plan = plan_with([{"name": "chat", "url_env": "CHAT_URL"}], quiet_hours="22:00-08:00")
    notifier = build_notifier(plan, db, clock=clock, environ={"CHAT_URL": webhook.url()})
    notifier.submit(notice("warning", fingerprint="mem"))
    notifier.submit(notice("critical", fingerprint="cpu"))
    notifier.deliver_due()
    assert [p["type"] for p in webhook.received] == ["failure"]
    clock.now = seoul(7, 59, day=28)
    assert notifier.deliver_due().sent == 0
    clock.now = seoul(8, 0, day=28)
    assert notifier.deliver_due().sent == 1
    assert [p["type"] for p in webhook.received] == ["failure", "warning"]


def test_routing_by_severity_and_kind_and_resolved_follows_firing(db, webhook, smtp):
    webhook.start()
    box, port = smtp
    mail_url = f"mailto://127.0.0.1:{port}?from=opsplan@example.com&to=oncall@example.com"
    plan = plan_with([{"name": "chat", "url_env": "CHAT_URL"},
                      {"name": "mail", "kind": "email", "url_env": "MAIL_URL"}])
    environ = {"CHAT_URL": webhook.url("chat"), "MAIL_URL": mail_url}
    clock = Clock(seoul(14, 5))
    notifier = build_notifier(plan, db, clock=clock, environ=environ)
    notifier.submit(notice("warning", fingerprint="mem"))
    notifier.submit(notice("critical", fingerprint="cpu"))
    notifier.deliver_due()
    assert len(webhook.received) == 2 and len(box.messages) == 1  # e-mail takes the critical only
    # The plan changes so the chat channel takes criticals only: a resolved warning still goes
    # where its firing went.
    changed = plan_with([{"name": "chat", "url_env": "CHAT_URL", "severities": ["critical"]},
                         {"name": "mail", "kind": "email", "url_env": "MAIL_URL",
                          "severities": ["critical", "warning"]}])
    again = build_notifier(changed, db, clock=clock, environ=environ)
    again.submit(notice("warning", kind="resolved", fingerprint="mem", resolved_at=clock.now))
    again.deliver_due()
    assert [p["type"] for p in webhook.received] == ["warning", "failure", "success"]
    assert len(box.messages) == 1


def test_the_channel_url_is_in_no_log_record_and_no_database_row(db, webhook, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    url = webhook.url()
    plan = plan_with([{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}])
    clock = Clock(seoul(14, 5))
    notifier = build_notifier(plan, db, clock=clock, environ={"HOOK_URL": url})
    notifier.submit(notice("critical"))
    notifier.deliver_due()  # fails: the server is down
    webhook.start()
    notifier.deliver_due(clock.now + 60)
    assert len(webhook.received) == 1
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "notification CpuUsageHigh sent to channel hook" in logged  # logging did happen
    assert TOKEN not in logged and url not in logged
    dumped = []
    with db.engine.connect() as conn:
        meta = MetaData()
        meta.reflect(conn)
        for table in meta.sorted_tables:
            dumped += [repr(tuple(row)) for row in conn.execute(table.select())]
    assert dumped and not any(TOKEN in line for line in dumped)


def test_a_worker_thread_delivers_what_is_submitted(db, webhook):
    webhook.start()
    plan = plan_with([{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}])
    notifier = Notifier(plan, db, environ={"HOOK_URL": webhook.url()})
    notifier.start()
    try:
        notifier.submit(notice("critical"))
        done = threading.Event()
        for _ in range(100):
            if webhook.received:
                done.set()
                break
            done.wait(0.05)
    finally:
        notifier.stop()
    assert len(webhook.received) == 1


def test_cli_notify_test_and_outbox(tmp_path, webhook, monkeypatch):
    webhook.start()
    monkeypatch.setenv("HOOK_URL", webhook.url())
    monkeypatch.delenv("CHAT_URL", raising=False)
    plan_path = write_plan(tmp_path, {"language": "en", "notifications": {"channels": [
        {"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}, {"name": "chat", "url_env": "CHAT_URL"}]}})
    runner = CliRunner()
    result = runner.invoke(app, ["--plan", str(plan_path), "notify", "test"])
    assert result.exit_code == 1
    assert "hook: ok" in result.stdout
    assert "chat: failed: environment variable CHAT_URL is not set" in result.stdout
    assert webhook.received[0]["title"] == "[opsplan] channel test: hook"
    result = runner.invoke(app, ["--plan", str(plan_path), "notify", "test", "--channel", "hook"])
    assert result.exit_code == 0 and TOKEN not in result.stdout

    plan = Plan.model_validate({"data_dir": str(tmp_path / "data"), "language": "en", "notifications": {
        "channels": [{"name": "chat", "url_env": "CHAT_URL"}]}})
    state = StateDB.open(f"sqlite:///{tmp_path / 'data' / 'state.db'}")
    notifier = build_notifier(plan, state, clock=Clock(seoul(14, 5)), environ={})
    notifier.submit(notice("critical"))
    notifier.deliver_due()
    state.close()
    result = runner.invoke(app, ["--plan", str(plan_path), "notify", "outbox", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["channel"] == "chat" and row["status"] == "pending" and row["attempts"] == 1
    assert row["next_try"] == "2026-11-27 14:05:30 KST"
    assert row["last_error"] == "environment variable CHAT_URL is not set"


def test_the_backlog_metrics_follow_each_notice_and_delivery_without_reading_the_outbox_every_cycle(db, webhook):
    clock = Clock(seoul(14, 5))
    plan = plan_with([{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}])
    notifier = build_notifier(plan, db, clock=clock, environ={"HOOK_URL": webhook.url()})

    def pending() -> float:
        return next(s.value for s in notifier.samples() if s.name == "opsplan_notifications_pending")

    assert pending() == 0
    notifier.submit(notice("critical", fingerprint="cpu"))
    assert pending() == 1  # the next cycle's metrics count the notice just queued
    clock.now += 10
    with db.session() as session:  # only this process writes the outbox: between rounds the last reading stands
        session.add(OutboxRow(notice_key="other", channel="hook", kind="firing", fingerprint="x", alert="X",
                              severity="critical", title="t", body="b", notify_type="failure",
                              created_at=clock.now, first_due_at=clock.now, next_try_at=clock.now))
    assert pending() == 1
    clock.now += IDLE_WAIT
    assert pending() == 2  # read again within IDLE_WAIT all the same
    webhook.start()
    assert notifier.deliver_due().sent == 2
    assert pending() == 0  # a delivery round reads the outbox again


def test_a_burst_of_notices_is_queued_together_once_each_and_resolved_ones_follow_their_firing(db):
    clock = Clock(seoul(14, 5))
    plan = plan_with([{"name": "team", "kind": "chat", "url_env": "TEAM_URL"},
                      {"name": "pager", "kind": "webhook", "url_env": "PAGER_URL"}])
    notifier = build_notifier(plan, db, clock=clock, environ={"TEAM_URL": "json://127.0.0.1:9/a",
                                                              "PAGER_URL": "json://127.0.0.1:9/b"})
    burst = [notice("critical", fingerprint=f"gpu{i}") for i in range(50)]
    burst += [notice("warning", fingerprint=f"disk{i}") for i in range(50)]
    assert notifier.submit_all(burst) == 50 * 2 + 50  # criticals to both channels, warnings to chat only
    assert notifier.submit_all(burst[:10]) == 0  # the same notices again: nothing twice
    clock.now += 600
    resolved = [notice("critical", kind="resolved", fingerprint="gpu0"),
                notice("warning", kind="resolved", fingerprint="disk0")]
    assert notifier.submit_all(resolved) == 3
    channels = {(r.fingerprint, r.kind): set() for r in rows(db)}
    for r in rows(db):
        channels[(r.fingerprint, r.kind)].add(r.channel)
    assert channels[("gpu0", "resolved")] == {"team", "pager"}
    assert channels[("disk0", "resolved")] == {"team"}


def test_a_notice_with_a_description_past_64_kb_is_queued_and_delivered_whole(db, webhook):
    """An external alert's description has no bound (Prometheus templates it) and the message
    carries it: past TEXT's 65,535 bytes MariaDB refused the outbox row. The body is MEDIUMTEXT there."""
    webhook.start()
    description = "\n".join(f"파드 `train-{i:05d}` 재시작 반복 (노드 gpu-02)" for i in range(2500))
    assert len(description.encode()) > 65_535
    plan = plan_with([{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}])
    notifier = build_notifier(plan, db, clock=Clock(seoul(14, 5)), environ={"HOOK_URL": webhook.url()})
    assert notifier.submit(notice("critical", description=Text(ko=description, en=description))) == 1
    assert notifier.deliver_due().sent == 1
    [payload] = webhook.received
    assert description in payload["message"] and "콘솔: http://127.0.0.1:8080/" in payload["message"]
    assert [r.status for r in rows(db)] == ["sent"]
