"""Checklists, the stakeholder notice, follow-up actions and postmortems (issue 13 items 4 and 6),
through `opsplan incident ...` on a real plan file and state database, with an injected clock."""

from __future__ import annotations

import json

import pytest
from test_korean_text import english_words
from typer.testing import CliRunner

from opsplan.cli import incident_cmd
from opsplan.stages.all import load_plan
from opsplan.store.state import StateDB, default_url
from seoul_time import at
from yaml_writer import write_plan

STAKEHOLDERS = {"notifications": {"channels": [
    {"name": "ops-chat", "url_env": "OPS_CHAT_URL"},
    {"name": "biz-mail", "url_env": "BIZ_MAIL_URL", "kind": "email"}]},
    "incidents": {"follow_up": {"stakeholders": ["biz-mail"]}}}


@pytest.fixture
def clock(monkeypatch):
    now = [at("2026-12-07 10:00")]  # a Monday morning in Seoul
    monkeypatch.setattr(incident_cmd, "_clock", lambda: now[0])
    return now


def run(path, *args):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), "incident", *args])


def ok(path, *args):
    result = run(path, *args)
    assert result.exit_code == 0, result.output
    return result.output


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def scripted(path, clock) -> int:
    """A major incident worked through its three stages, with fields, a notice and two actions."""
    iid = json.loads(ok(path, "open", "--severity", "major", "--title", "로그인 실패 / Login fails", "--by", "kim",
                        "--json"))["id"]
    clock[0] = at("2026-12-07 10:12")
    ok(path, "ack", str(iid), "--by", "kim")
    ok(path, "stage", str(iid), "1", "--by", "kim")
    ok(path, "task", str(iid), "1", "1", "--done", "--note", "로그인 502", "--by", "kim")
    ok(path, "set", str(iid), "--impact", "로그인 요청 30% 실패", "--services", "api-server", "--by", "kim")
    clock[0] = at("2026-12-07 10:20")
    ok(path, "task", str(iid), "1", "3", "--done", "--by", "kim")
    ok(path, "stage", str(iid), "2", "--by", "kim")
    ok(path, "set", str(iid), "--root-cause", "세션 저장소 연결 수 초과", "--by", "lee")
    ok(path, "stage", str(iid), "3", "--by", "lee")
    ok(path, "set", str(iid), "--fix", "연결 풀 크기 조정 후 재시작", "--by", "lee")
    ok(path, "task", str(iid), "3", "Apply the fix", "--done", "--evidence", "runbook run 42", "--by", "lee")
    clock[0] = at("2026-12-07 11:30")
    ok(path, "resolve", str(iid), "--by", "lee")
    ok(path, "action", "add", str(iid), "연결 수 알림 규칙 추가", "--owner", "park", "--due", "2026-12-10")
    ok(path, "action", "add", str(iid), "부하 테스트", "--owner", "choi", "--due", "2026-12-31")
    return int(iid)


def test_a_major_closes_only_with_a_final_postmortem_in_korean_and_english(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "ko", **STAKEHOLDERS})
    iid = scripted(path, clock)

    refused = one_line_error(run(path, "close", str(iid)))
    assert refused == (f"opsplan: 장애 {iid}은 Major 장애라 최종 사후 분석 보고서 없이 종료할 수 없습니다 "
                       f"(`opsplan incident postmortem {iid} --final`)")

    # The API's own request rate and error ratio in the metrics store: 10 req/s, 30 % failing, 90 minutes.
    from opsplan.metrics import sample
    from opsplan.store import MetricsStore

    plan = load_plan(path)
    with MetricsStore(plan.data_dir / "metrics", clock=lambda: at("2026-12-07 14:00")) as store:
        for minute in range(90):
            store.append(at("2026-12-07 10:00") + 60 * minute,
                         [sample("opsplan_api_requests_per_second", 10, service="api-server"),
                          sample("opsplan_api_error_ratio", 0.3, service="api-server")])
    clock[0] = at("2026-12-07 14:00")
    draft_ko = ok(path, "postmortem", str(iid))
    assert "- 실패한 요청: 16,200" in draft_ko
    assert f"# 장애 {iid} 사후 분석 보고서 (초안): 로그인 실패 / Login fails" in draft_ko
    assert "- 지속 시간: 1시간 30분" in draft_ko  # 10:00 to 11:30
    assert "- 확인: 2026-12-07 10:12:00 KST (기한 2026-12-07 10:30:00 KST 충족), 걸린 시간 12분" in draft_ko
    assert "- 원인" not in draft_ko and "세션 저장소 연결 수 초과" in draft_ko
    assert "1. 연결 수 알림 규칙 추가 (담당 park, 기한 2026-12-10 23:59:59 KST): 진행 중" in draft_ko
    assert "이해관계자 통보 발송: biz-mail" in draft_ko and "[runbook run 42]" in draft_ko
    # The words around the operators' own text are Korean, every one (what they typed is theirs).
    typed = ("로그인 실패 / Login fails", "runbook run 42", "api-server", "kim", "lee", "park", "choi")
    text = draft_ko
    for value in typed:
        text = text.replace(value, "")
    assert english_words(text) == [], text

    draft_en = ok(path, "postmortem", str(iid), "--lang", "en")
    assert "- Duration: 1h 30m" in draft_en and "Root cause" in draft_en
    assert "Acknowledged: 2026-12-07 10:12:00 (due 2026-12-07 10:30:00, met), after 12m" in draft_en
    typed_ko = ("로그인 실패", "로그인 502", "로그인 요청 30% 실패", "세션 저장소 연결 수 초과",
                "연결 풀 크기 조정 후 재시작", "연결 수 알림 규칙 추가", "부하 테스트")
    text = draft_en
    for value in typed_ko:
        text = text.replace(value, "")
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in text), text

    out_file = tmp_path / "pm.html"
    ok(path, "postmortem", str(iid), "--final", "--format", "html", "--out", str(out_file), "--by", "kim")
    page = out_file.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "(최종)" in page and "최종 확정: kim" in page
    # Later records do not change the final one; the incident now closes.
    ok(path, "set", str(iid), "--root-cause", "다른 설명")
    assert "세션 저장소 연결 수 초과" in ok(path, "postmortem", str(iid))
    assert json.loads(ok(path, "close", str(iid), "--json"))["status"] == "closed"
    figures = ok(path, "figures", "--month", "2026-12").splitlines()
    assert "Major: 장애 1개, 평균 확인 시간(MTTA) 중앙값 12분, p90 12분, 평균 복구 시간(MTTR) 중앙값 1시간 30분, " \
           "p90 1시간 30분, 기한 초과 확인 0건, 대응 0건" in figures


def test_a_final_postmortem_needs_the_root_cause_and_the_fix(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "en"})
    iid = json.loads(ok(path, "open", "--severity", "critical", "--title", "API down", "--json"))["id"]
    assert "still open" in one_line_error(run(path, "postmortem", str(iid), "--final"))
    ok(path, "resolve", str(iid))
    assert one_line_error(run(path, "postmortem", str(iid), "--final")).endswith(
        f"(`opsplan incident set {iid}` --root-cause, --fix)")
    # A minor incident closes without one (the plan names critical and major).
    minor = json.loads(ok(path, "open", "--severity", "minor", "--title", "slow page", "--json"))["id"]
    ok(path, "resolve", str(minor))
    ok(path, "close", str(minor))


def test_an_unknown_task_is_one_line_naming_the_stage_tasks(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "en"})
    iid = json.loads(ok(path, "open", "--severity", "major", "--title", "x", "--json"))["id"]
    line = one_line_error(run(path, "task", str(iid), "2", "reboot everything", "--done"))
    assert line == ("opsplan: stage 2 has no task 'reboot everything' (its tasks: 1 Log analysis, "
                    "2 Impact assessment, 3 Plan the fix)")
    ko = write_plan(tmp_path, {"language": "ko"})
    assert one_line_error(run(ko, "task", str(iid), "9", "1", "--done")) == \
        "opsplan: 9단계는 없습니다 (운영 계획서의 단계: 1-3)"


def test_required_tasks_gate_the_next_stage(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "en", "incidents": {"follow_up": {"required_tasks": [[1, 2]]}}})
    iid = json.loads(ok(path, "open", "--severity", "minor", "--title", "x", "--json"))["id"]
    ok(path, "stage", str(iid), "1")
    ok(path, "task", str(iid), "1", "assess the situation", "--done")
    line = one_line_error(run(path, "stage", str(iid), "2"))
    assert line == (f"opsplan: incident {iid}: check task 2 of stage 1, 'Apply a temporary mitigation', "
                    "before the next stage (1 required left)")
    ok(path, "task", str(iid), "1", "2", "--done", "--note", "traffic moved to the standby")
    ok(path, "stage", str(iid), "2")


def test_the_stakeholder_notice_lands_in_the_outbox_in_both_languages(tmp_path, clock):
    from opsplan.notify.outbox import OutboxRow

    path = write_plan(tmp_path, {"language": "ko", **STAKEHOLDERS})
    iid = json.loads(ok(path, "open", "--severity", "critical", "--title", "API 중단", "--json"))["id"]
    ok(path, "set", str(iid), "--impact", "모든 요청 실패")
    said = ok(path, "task", str(iid), "1", "이해관계자 통보", "--done")
    assert "이해관계자 통보를 발송 대기열에 넣었습니다 (biz-mail), 다음 안내 2026-12-07 11:00:00 KST" in said

    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    try:
        with db.session() as session:
            rows = session.query(OutboxRow).all()
            found = [(r.channel, r.status, r.title, r.body) for r in rows]
    finally:
        db.close()
    assert len(found) == 1  # only the stakeholder channel, not ops-chat
    channel, status, title, body = found[0]
    assert (channel, status, title) == ("biz-mail", "pending", f"[장애 {iid}] API 중단: 현재 상황")
    assert body.splitlines()[:3] == ["장애 등급: Critical", "영향: 모든 요청 실패",
                                     "다음 안내: 2026-12-07 11:00:00 KST"]
    assert "Next update: 2026-12-07 11:00:00" in body

    # The real notifier sends it like any alert notice, to a real receiver.
    from http_stubs import Webhook
    from opsplan.notify.service import Notifier

    webhook = Webhook()
    db = StateDB.open(default_url(plan.data_dir))
    try:
        notifier = Notifier(plan, db, clock=lambda: clock[0], environ={"BIZ_MAIL_URL": webhook.url})
        assert notifier.deliver_due(clock[0] + 1).sent == 1
    finally:
        db.close()
    assert [(p["title"], p["type"]) for p in webhook.posts] == [(f"[장애 {iid}] API 중단: 현재 상황", "failure")]
    assert "영향: 모든 요청 실패" in webhook.posts[0]["message"]


def test_no_stakeholder_channel_is_one_line(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "en"})
    iid = json.loads(ok(path, "open", "--severity", "critical", "--title", "x", "--json"))["id"]
    assert one_line_error(run(path, "task", str(iid), "1", "3", "--done")) == \
        "opsplan: no stakeholder channels are set (incidents.follow_up.stakeholders)"
    # Nothing half-done: the task is not checked without its notice.
    shown = json.loads(ok(path, "show", str(iid), "--json"))
    assert [e["kind"] for e in shown["timeline"]] == ["opened"]


def test_follow_up_actions_overdue_listed(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "en"})
    iid = json.loads(ok(path, "open", "--severity", "minor", "--title", "x", "--json"))["id"]
    ok(path, "action", "add", str(iid), "add an alert", "--owner", "park", "--due", "2026-12-08")
    ok(path, "action", "add", str(iid), "load test", "--owner", "choi", "--due", "2026-12-31")
    ok(path, "action", "add", str(iid), "doc", "--owner", "kim", "--due", "2026-12-08")
    ok(path, "action", "done", str(iid), "3")
    clock[0] = at("2026-12-09 09:00")
    listed = json.loads(ok(path, "action", "list", "--json"))
    assert listed["overdue"] == 1
    overdue = ok(path, "action", "list", "--overdue").strip().splitlines()
    assert overdue == [f"incident {iid} action 1: add an alert | owner park | due 2026-12-08 23:59:59 | overdue"]
    assert one_line_error(run(path, "action", "done", str(iid), "7")) == f"opsplan: incident {iid} has no action 7"
    assert one_line_error(run(path, "action", "add", str(iid), "x", "--owner", "a", "--due", "next week")) == \
        "opsplan: expected a due date YYYY-MM-DD or YYYY-MM-DDTHH:MM, got 'next week'"


def test_plan_check_names_an_unknown_stakeholder_channel_and_a_task_a_stage_lacks(tmp_path):
    from opsplan.cli.main import app

    path = tmp_path / "opsplan.yaml"
    path.write_text(f"data_dir: {tmp_path / 'data'}\nincidents:\n  follow_up:\n    stakeholders: [board]\n"
                    "    required_tasks: [[1, 4]]\n", encoding="utf-8")
    lines = CliRunner().invoke(app, ["plan", "check", str(path)]).output.splitlines()
    assert f"{path}:4: incidents.follow_up.stakeholders[0]: stakeholder channel 'board' is not in " \
           "notifications.channels (there: -)" in lines
    assert f"{path}:5: incidents.follow_up.required_tasks[0][1]: stage 1 has no task 4 (it has 3)" in lines


def test_show_describes_checked_tasks_and_recorded_fields(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "ko"})
    iid = json.loads(ok(path, "open", "--severity", "minor", "--title", "검색 지연", "--json"))["id"]
    ok(path, "task", str(iid), "1", "장애 상황 파악", "--done", "--note", "색인 재구성 중", "--by", "kim")
    ok(path, "set", str(iid), "--root-cause", "색인 재구성", "--by", "kim")
    shown = ok(path, "show", str(iid))
    assert "1단계 1번 작업 완료: 장애 상황 파악 (메모: 색인 재구성 중) (kim)" in shown
    assert "기록함: 원인 (kim)" in shown
