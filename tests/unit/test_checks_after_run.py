"""After a check run: its summary reaches the channels through the real outbox and notifier (a real
webhook receiver on loopback), in the plan's language with a link to its report; a failed item opens
one incident per (period, item), joined by the next failure and noted when it passes again, never
resolved by opsplan; the plan names only channels and levels it has (one line otherwise)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_korean_text import assert_korean
from typer.testing import CliRunner

from http_stubs import Webhook
from opsplan.backup.database.catalog import DATABASE_TARGET, OK, DbBackup
from opsplan.checks import runs
from opsplan.checks.after_run import follow_up
from opsplan.incidents.lifecycle import Incidents
from opsplan.notify.service import Notifier
from opsplan.plan.models import Plan
from opsplan.stages.all import load_plan
from opsplan.store.state import StateDB, default_url
from yaml_writer import write_plan

NOW = 1_796_000_000.0  # 2026-11-30 09:53:20 KST
DAILY = {"schedule": "0 9 * * *", "items": [
    {"id": "backup.status", "ko": "백업 상태", "en": "Backup status"},
    {"ko": "서버실 온도 확인", "en": "Server room temperature"}]}


def _plan(tmp_path: Path, **checks: object) -> Path:
    return write_plan(tmp_path, {
        "language": "ko", "web": {"port": 0, "public_url": "https://ops.example.kr/"},
        "notifications": {"channels": [{"name": "ops-chat", "url_env": "OPS_CHAT_URL"},
                                       {"name": "oncall-mail", "kind": "email", "url_env": "ONCALL_MAIL_URL"}]},
        "checks": {"daily": DAILY, **checks}})


def _run(plan: Plan, db: StateDB, incidents: Incidents | None, now: float):
    outcome = runs.run_checks(plan, db, "daily", actor="opsplan serve (schedule)", now=now, clock=lambda: now)
    return outcome.run_id, follow_up(plan, db, outcome.run_id, incidents=incidents, now=now)


@pytest.fixture
def opened(tmp_path: Path):
    path = _plan(tmp_path)
    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    yield plan, db
    db.close()


@pytest.fixture
def opened_on_engines(tmp_path: Path, engine_state_url: str):
    """The same on SQLite, PostgreSQL and MariaDB: the incidents a check run opens and joins."""
    plan = load_plan(_plan(tmp_path))
    db = StateDB.open(engine_state_url)
    yield plan, db
    db.close()


def test_the_summary_reaches_the_chat_channel_in_korean_with_its_link_once(opened):
    plan, db = opened
    chat, mail = Webhook(), Webhook()
    run_id, done = _run(plan, db, None, NOW)
    # Unset notify_channels: the channels that take Warnings (chat), not the criticals-only e-mail.
    assert done.channels == ["ops-chat"]
    assert follow_up(plan, db, run_id, incidents=None, now=NOW + 5).channels == []  # queued once per run
    notifier = Notifier(plan, db, clock=lambda: NOW, environ={"OPS_CHAT_URL": chat.url,
                                                              "ONCALL_MAIL_URL": mail.url})
    assert notifier.deliver_due(NOW + 1).sent == 1
    assert mail.posts == [] and len(chat.posts) == 1
    post = chat.posts[0]
    assert (post["title"], post["type"]) == ("[일일 점검] 2026-11-30 결과: 실패", "failure")
    body = post["message"].splitlines()
    assert body == ["점검 기간: 2026-11-29 09:53:20 KST ~ 2026-11-30 09:53:20 KST",
                    "정상 0개, 주의 0개, 실패 1개, 실행하지 못함 0개",
                    "실패 항목: 백업 상태",
                    "수동 점검 항목 1개가 확인을 기다립니다",
                    f"보고서: https://ops.example.kr/reports/{run_id}?lang=ko"]
    assert_korean("check summary", post["title"] + "\n" + post["message"])


def test_without_a_public_url_the_summary_names_the_command_and_named_channels_are_used(tmp_path: Path):
    path = write_plan(tmp_path, {
        "language": "en",
        "notifications": {"channels": [{"name": "ops-chat", "url_env": "OPS_CHAT_URL"},
                                       {"name": "oncall-mail", "kind": "email", "url_env": "ONCALL_MAIL_URL"}]},
        "checks": {"daily": DAILY, "notify_channels": ["oncall-mail"]}})
    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    try:
        mail = Webhook()
        run_id, done = _run(plan, db, None, NOW)
        assert done.channels == ["oncall-mail"]
        assert Notifier(plan, db, clock=lambda: NOW, environ={"ONCALL_MAIL_URL": mail.url}).deliver_due(NOW).sent == 1
        assert mail.posts[0]["title"] == "[Daily check] 2026-11-30: fail"
        assert mail.posts[0]["message"].splitlines()[-1] == f"Read it: `opsplan report show {run_id}`"
    finally:
        db.close()


def test_a_failed_item_opens_one_incident_joined_while_open_and_noted_when_it_passes(opened_on_engines):
    plan, db = opened_on_engines
    incidents = Incidents(plan, db)
    first, done = _run(plan, db, incidents, NOW)
    assert len(done.incidents.opened) == 1 and done.incidents.joined == []
    incident_id = done.incidents.opened[0]
    shown = incidents.get(incident_id)
    assert (shown["severity"], shown["source"], shown["status"]) == ("minor", "check", "triggered")
    assert shown["title"] == {"ko": "일일 점검 실패: 백업 상태", "en": "Daily check failed: Backup status"}
    second, done = _run(plan, db, incidents, NOW + 86400)
    assert done.incidents.joined == [incident_id] and done.incidents.opened == []
    assert len(incidents.list()) == 1
    # A real backup catalogue entry, verified and fresh: the item passes; the incident is noted, not resolved.
    with db.session() as session:
        session.add(DbBackup(target=DATABASE_TARGET, kind="full", status=OK, started_at=NOW + 2 * 86400 - 600,
                             finished_at=NOW + 2 * 86400 - 300, verify_status="ok"))
    third, done = _run(plan, db, incidents, NOW + 2 * 86400)
    assert runs.get_run(db, third)["items"][0]["status"] == "pass"
    assert done.incidents.noted == [incident_id]
    shown = incidents.get(incident_id)
    assert shown["status"] == "triggered"
    entries = [(e["kind"], e["data"].get("run")) for e in shown["timeline"] if e["kind"].startswith("check_")]
    assert entries == [("check_failed", first), ("check_failed", second), ("check_passed", third)]


def test_severity_by_item_and_switched_off_and_no_incidents_stage(tmp_path: Path):
    path = _plan(tmp_path, incident_severity={"daily": "major", "backup.status": "critical"})
    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    try:
        incidents = Incidents(plan, db)
        _, done = _run(plan, db, incidents, NOW)
        assert incidents.get(done.incidents.opened[0])["severity"] == "critical"  # the item's own entry wins
        _, done = _run(plan, db, None, NOW + 60)  # the incidents stage is off: nothing
        assert done.incidents.opened == done.incidents.joined == []
        off = plan.model_copy(update={"checks": plan.checks.model_copy(update={"open_incidents": False})})
        _, done = _run(off, db, Incidents(off, db), NOW + 120)
        assert done.incidents.joined == [] and len(incidents.list()) == 1
        # A plan whose levels leave Minor out: its least severe one, not silence.
        from opsplan.checks.failed_items import severity_for

        levels = {k: v for k, v in plan.incidents.severities.items() if k != "minor"}
        fewer = plan.model_copy(update={"incidents": plan.incidents.model_copy(update={"severities": levels})})
        assert severity_for(fewer, "weekly", "logs.analysis") == "major"
    finally:
        db.close()


def test_plan_check_names_an_unknown_channel_key_or_level_in_one_line(tmp_path: Path):
    from opsplan.cli.main import app

    path = _plan(tmp_path, notify_channels=["ops-chat", "board"], incident_severity={"disk.spce": "major"})
    lines = CliRunner().invoke(app, ["plan", "check", str(path)], env={"OPS_CHAT_URL": "json://127.0.0.1:9/x",
                                                                        "ONCALL_MAIL_URL": "json://127.0.0.1:9/y"})
    text = lines.output
    assert re.search(r"opsplan\.yaml:\d+: checks\.notify_channels\[1\]: 점검 요약 채널 board: "
                     r"`notifications\.channels`에 없습니다 \(있는 채널: oncall-mail, ops-chat\)$", text, re.M), text
    assert re.search(r"checks\.incident_severity\.disk\.spce: `disk\.spce`: 점검 주기도 운영 계획서의 점검 항목도 "
                     r"아닙니다 \(가능한 값: daily, weekly, monthly, quarterly, .*backup\.status", text), text
    assert len(text.strip().splitlines()) == 2
    assert lines.exit_code == 2


def test_the_cli_run_opens_the_incident_and_both_lists_print_the_same_table(tmp_path: Path):
    from opsplan.cli.main import app

    path = write_plan(tmp_path, {"language": "en", "checks": {"daily": DAILY}})
    runner = CliRunner()
    ran = runner.invoke(app, ["--plan", str(path), "check", "run", "daily"])
    assert ran.exit_code == 1, ran.output  # backup.status fails: no backup at all
    assert ran.output.splitlines()[-1] == "incidents of the failed items: 1 (`opsplan incident show`)"
    listed = json.loads(runner.invoke(app, ["--plan", str(path), "incident", "list", "--json"]).output)
    incidents = listed["incidents"] if isinstance(listed, dict) else listed
    assert [i["title"]["en"] for i in incidents] == ["Daily check failed: Backup status"]
    shown = runner.invoke(app, ["--plan", str(path), "incident", "show", str(incidents[0]["id"])]).output
    assert "check failed: Backup status (check run 1)" in shown
    checks = runner.invoke(app, ["--plan", str(path), "check", "list"]).output.splitlines()
    reports = runner.invoke(app, ["--plan", str(path), "report", "list"]).output.splitlines()
    assert checks[0] == reports[0] == "ID | Period | Time | Status | Signed by"
    assert [row.split(" | ")[:2] + row.split(" | ")[3:] for row in (checks[1], reports[1])] == \
        [["1", "Daily check", "fail", "-"]] * 2
