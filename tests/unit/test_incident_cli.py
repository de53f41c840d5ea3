"""`opsplan incident ...` on a plan file and its state database, without serve running: a round
trip with --json, Korean output for a Korean plan, one-line errors, every change audited."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from opsplan.cli import incident_cmd
from opsplan.stages.all import load_plan
from opsplan.store.state import StateDB, default_url
from seoul_time import at
from yaml_writer import write_plan


@pytest.fixture
def clock(monkeypatch):
    now = [at("2026-12-04 20:00")]  # a Friday evening in Seoul
    monkeypatch.setattr(incident_cmd, "_clock", lambda: now[0])
    return now


def run(path, *args):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), "incident", *args])


def test_open_ack_stages_resolve_close_round_trip_with_json(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "en"})
    opened = run(path, "open", "--severity", "major", "--title", "Login page fails for some users", "--by", "kim",
                 "--json")
    assert opened.exit_code == 0, opened.output
    incident = json.loads(opened.output)
    iid = incident["id"]
    assert (incident["severity"], incident["status"], incident["source"]) == ("major", "triggered", "manual")
    # Friday 20:00: the two hours count from Monday 09:00 Seoul time.
    assert incident["deadlines_from_local"] == "2026-12-07T09:00:00+09:00"
    assert incident["respond_due_local"] == "2026-12-07T11:00:00+09:00"

    clock[0] = at("2026-12-07 09:10")
    assert run(path, "ack", str(iid), "--by", "kim").output.strip() == f"Incident {iid} acknowledged by kim."
    for stage in ("1", "2", "3"):
        moved = run(path, "stage", str(iid), stage, "--by", "kim")
        assert moved.exit_code == 0, moved.output
    assert "stage 3, Recovery, started" in moved.output
    assert run(path, "note", str(iid), "session cookie domain fixed", "--by", "lee").exit_code == 0
    resolved = json.loads(run(path, "resolve", str(iid), "--note", "deployed 1.4.2", "--json").output)
    assert resolved["status"] == "resolved" and resolved["respond_breached_at"] is None
    # A major closes with its final postmortem (test_incident_postmortem.py has the rest).
    assert run(path, "set", str(iid), "--root-cause", "cookie domain", "--fix", "1.4.2").exit_code == 0
    assert run(path, "postmortem", str(iid), "--final", "--by", "kim").exit_code == 0
    closed = json.loads(run(path, "close", str(iid), "--by", "kim", "--json").output)
    assert closed["status"] == "closed"

    shown = json.loads(run(path, "show", str(iid), "--json").output)
    assert [e["kind"] for e in shown["timeline"]] == [
        "opened", "acknowledged", "stage", "stage", "stage", "note", "resolved", "fields", "postmortem_final", "closed"]
    assert shown["timeline"][5]["data"] == {"text": "session cookie domain fixed"}
    assert json.loads(run(path, "list", "--json").output)["count"] == 0
    assert json.loads(run(path, "list", "--all", "--json").output)["incidents"][0]["id"] == iid

    # Every change is in the audit log, by whom.
    from opsplan.audit.log import entries

    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    try:
        actions = [(e["actor"], e["action"]) for e in entries(db) if e["action"].startswith("incident.")]
    finally:
        db.close()
    assert ("kim", "incident.open") in actions and ("lee", "incident.note") in actions
    assert [a for _, a in actions].count("incident.stage") == 3 and ("kim", "incident.close") in actions


def test_a_korean_plan_speaks_korean(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "ko"})
    opened = run(path, "open", "--severity", "critical", "--title", "고객 데이터 유출 신고", "--by", "kim")
    assert opened.exit_code == 0, opened.output
    assert opened.output.startswith("장애 1을 열었습니다 (장애 등급 Critical, 확인 기한 2026-12-04 20:15:00 KST)")
    listed = run(path, "list")
    assert "번호 | 장애 등급 | 상태" in listed.output and "| Critical | 발생 | 고객 데이터 유출 신고 |" in listed.output
    run(path, "stage", "1", "1", "--by", "kim")
    shown = run(path, "show", "1").output
    assert "1단계 초기 대응" in shown and "1단계 시작: 초기 대응 (kim)" in shown


def test_bad_input_is_one_line_and_changes_nothing(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "en"})
    unknown = run(path, "open", "--severity", "urgent", "--title", "x")
    assert unknown.exit_code == 1
    assert unknown.output == "opsplan: unknown severity 'urgent' (one of critical, major, minor)\n"
    assert json.loads(run(path, "list", "--json").output)["count"] == 0
    run(path, "open", "--severity", "minor", "--title", "Search is slow")
    early = run(path, "close", "1")
    assert early.exit_code == 1 and early.output.count("\n") == 1
    assert "incident 1 is still open and cannot be closed: resolve it first" in early.output
    assert run(path, "stage", "1", "7").output == "opsplan: there is no stage 7 (the plan has stages 1-3)\n"
    assert run(path, "ack", "42").output == "opsplan: there is no incident 42\n"
    assert json.loads(run(path, "show", "1", "--json").output)["status"] == "triggered"


def test_assign_regrade_and_merge_from_the_command_line(tmp_path, clock):
    oncall = {"people": [{"name": "kim", "url_env": "KIM_URL"}, {"name": "lee", "url_env": "LEE_URL"}],
              "rotation": {"people": ["kim", "lee"]}}
    path = write_plan(tmp_path, {"language": "en", "oncall": oncall})
    first = json.loads(run(path, "open", "--severity", "minor", "--title", "API slow", "--json").output)["id"]
    second = json.loads(run(path, "open", "--severity", "minor", "--title", "API slow again", "--json").output)["id"]

    assigned = run(path, "assign", str(first), "lee", "--by", "kim")
    assert assigned.output.strip() == f"Incident {first} assigned to lee."
    stranger = run(path, "assign", str(first), "park")
    assert stranger.exit_code == 1 and stranger.output.count("\n") == 1
    assert "'park' is not one of the on-call people (kim, lee)" in stranger.output

    # Friday 20:00: a minor waits for Monday; raised to critical its deadlines count now, at night.
    before = json.loads(run(path, "show", str(first), "--json").output)
    raised = json.loads(run(path, "severity", str(first), "critical", "--reason", "all users", "--json").output)
    assert raised["severity"] == "critical" and raised["assignee"] == "lee"
    assert raised["ack_due"] < before["ack_due"] and raised["ack_due_local"].startswith("2026-12-04T20:15")
    assert run(path, "severity", str(first), "critical").exit_code == 1

    merged = json.loads(run(path, "merge", str(second), "--into", str(first), "--json").output)
    assert merged["status"] == "merged" and merged["merged_into"] == first
    shown = run(path, "show", str(first))
    assert "assigned to lee" in shown.output and "severity changed: Minor → Critical" in shown.output
    assert f"incident {second} merged into this one" in shown.output


def test_an_id_past_what_the_database_holds_is_no_incident(tmp_path, clock):
    """A mistyped id of twenty digits is "no such incident" in one line, not an overflow traceback."""
    path = write_plan(tmp_path, {"language": "en"})
    opened = json.loads(run(path, "open", "--severity", "minor", "--title", "slow", "--json").output)
    huge = "99999999999999999999"
    for args in (("show", huge), ("note", huge, "hello"), ("merge", str(opened["id"]), "--into", huge)):
        done = run(path, *args)
        assert done.exit_code == 1, (args, done.output)
        assert done.output.count("\n") == 1 and f"there is no incident {huge}" in done.output
    assert json.loads(run(path, "show", str(opened["id"]), "--json").output)["status"] == "triggered"


def test_a_title_with_line_breaks_is_kept_on_one_line(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "en"})
    opened = json.loads(run(path, "open", "--severity", "minor", "--title", "API slow\n# not a heading\r\n",
                            "--json").output)
    assert opened["title"]["en"] == "API slow # not a heading"
    draft = run(path, "postmortem", str(opened["id"]))
    assert draft.output.splitlines()[0].endswith("API slow # not a heading")
