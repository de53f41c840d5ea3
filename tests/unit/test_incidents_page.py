"""The console's incident pages (/incidents, /incidents/{id}, /incidents/{id}/postmortem) through
FastAPI's TestClient on a real SQLite state DB: incidents made by the real lifecycle, users by the
identity stage's real passwords and sessions. What a viewer and an operator see, what each form
does to the incident and its timeline, that every step is audited with the logged-in user, and
that a refused step is one line on the page in the reader's language (never a 500)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsplan.audit import entries
from opsplan.incidents.lifecycle import Incidents
from opsplan.notify.outbox import OutboxRow
from opsplan.plan.models import Channel, IncidentFollowUp, Notifications, OnCall, Person, Plan, Text
from opsplan.plan.models import Incidents as IncidentPlan
from opsplan.store.state import StateDB
from opsplan.web.console.frame import Console
from opsplan.web.console.incident_forms import IncidentForms
from opsplan.web.console.incidents import incidents_router
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users
from unit.test_korean_text import assert_korean
from unit.test_security_headers import InlineFinder

NOW = 1_800_000_000.0  # 2027-01-15 17:00 KST, a Friday
PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    now = NOW

    def __call__(self) -> float:
        return self.now


class Page:
    def __init__(self, tmp: Path, **plan: Any) -> None:
        self.db = StateDB.open(f"sqlite:///{tmp / 'state.db'}")
        self.clock = Clock()
        self.plan = Plan(data_dir=tmp, language="ko",
                         oncall=OnCall(people=[Person(name="kim01"), Person(name="lee02")]), **plan)
        users = Users(self.db, tmp, self.clock, FAST)
        for name, role in (("ops01", "operator"), ("view01", "viewer")):
            users.add(name, role, PASSWORD, actor="root")
        self.incidents = Incidents(self.plan, self.db)
        web = build_identity_web(self.plan, self.db, self.clock, hasher=FAST)
        app = FastAPI()
        app.add_middleware(SecurityHeaders)
        app.include_router(identity_router(web))
        self.console = Console(self.plan, web)
        self.wakes = 0

        def wake() -> None:  # as serve's notifier: told a notice waits in the outbox
            self.wakes += 1

        forms = IncidentForms(self.incidents, wake=wake)
        app.include_router(incidents_router(self.console, self.incidents, forms, clock=self.clock))
        self.client = TestClient(app)

    def open(self, severity: str, title: str, at: float = NOW) -> int:
        return self.incidents.open(severity, Text(ko=title, en=title), by="opsplan", now=at)

    def log_in(self, name: str) -> str:
        self.client.cookies.clear()
        answer = self.client.post("/login", data={"name": name, "password": PASSWORD}, headers=ORIGIN,
                                  follow_redirects=False)
        assert answer.status_code == 303
        return CSRF.search(self.client.get("/incidents").text).group(1)  # type: ignore[union-attr]

    def post(self, path: str, **data: str) -> Any:
        return self.client.post(path, data=data, headers=ORIGIN, follow_redirects=False)

    def text(self, path: str) -> str:
        return text_of(self.client.get(path).text)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    made = Page(tmp_path)
    yield made
    made.db.close()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def steps_by(db: StateDB, actor: str) -> list[str]:
    """The incident steps the audit log has from `actor`, newest first."""
    return [e["action"] for e in entries(db) if e["actor"] == actor and e["action"].startswith("incident.")]


def audited(db: StateDB, action: str) -> list[dict[str, Any]]:
    return [e for e in entries(db) if e["action"] == action]


def test_a_viewer_reads_the_list_critical_first_and_the_detail_without_a_form(page):
    minor = page.open("minor", "응답 시간 느림", at=NOW - 600)
    critical = page.open("critical", "API 서비스 중단")
    done = page.open("major", "지난주 장애", at=NOW - 86400)
    page.incidents.cancel(done, by="kim01", now=NOW - 80000, reason="오탐")
    assert page.client.get("/incidents", follow_redirects=False).status_code == 303  # a login first
    csrf = page.log_in("view01")
    listing = page.client.get("/incidents").text
    assert listing.index(f'id="incident-{critical}"') < listing.index(f'id="incident-{minor}"')
    assert f'id="incident-{done}"' not in listing  # ended ones only with the toggle
    shown = text_of(listing)
    assert "Critical" in shown and "2027-01-15 17:15:00 KST" in shown and "진행 중" in shown  # ack due, running
    assert 'action="/incidents"' not in listing and "조회자는 장애를 읽을 수만 있습니다" in shown
    assert '<a href="/incidents?lang=ko" aria-current="page">장애</a>' in listing  # in the navigation
    assert_korean("incident list", shown)
    everything = page.client.get("/incidents?all=1").text
    assert f'id="incident-{done}"' in everything and "취소 (오탐)" in text_of(everything)
    detail = page.client.get(f"/incidents/{critical}").text
    assert "<form" not in detail.split("<main", 1)[1]
    assert "장애 열림 (장애 등급 Critical)" in text_of(detail)
    assert_korean("incident detail", text_of(detail))
    finder = InlineFinder()
    finder.feed(detail)
    assert finder.blocked == []
    # The viewer's own session and token, posted straight at a form's route.
    assert page.post(f"/incidents/{critical}/ack", csrf_token=csrf).status_code == 403
    assert page.incidents.get(critical)["status"] == "triggered"
    assert page.client.get("/incidents/999").status_code == 404


def test_an_operator_acknowledges_and_the_timeline_and_audit_log_name_them(page):
    incident = page.open("critical", "API 서비스 중단")
    csrf = page.log_in("ops01")
    page.clock.now = NOW + 120
    assert page.post(f"/incidents/{incident}/ack", lang="en").status_code == 403  # no CSRF token
    answer = page.post(f"/incidents/{incident}/ack", csrf_token=csrf, lang="en")
    assert answer.status_code == 303 and answer.headers["location"] == f"/incidents/{incident}?lang=en#ack"
    shown = page.text(f"/incidents/{incident}?lang=en")
    assert "2027-01-15 17:02:00 KST acknowledged (ops01)" in shown
    assert "Acknowledged" in shown and "met" in shown
    assert page.incidents.get(incident)["acknowledged_by"] == "ops01"
    [entry] = audited(page.db, "incident.ack")
    assert entry["actor"] == "ops01" and entry["target"] == f"incident {incident}"
    # Acknowledged: the button is gone; doing it again (a second tab) is one line, not a 500.
    assert f'action="/incidents/{incident}/ack"' not in page.client.get(f"/incidents/{incident}").text
    again = page.post(f"/incidents/{incident}/ack", csrf_token=csrf)
    assert again.status_code == 422
    assert f"장애 {incident}은 이미 확인되었습니다" in text_of(again.text)


def test_an_operator_works_an_incident_through_assign_severity_stage_task_note_and_resolve(page):
    incident = page.open("major", "로그인 실패 증가")
    csrf = page.log_in("ops01")
    detail = page.client.get(f"/incidents/{incident}?lang=en").text
    assert '<option value="kim01">kim01</option>' in detail and '<option value="lee02">lee02</option>' in detail
    steps = [("assign", {"person": "lee02"}), ("severity", {"severity": "critical", "reason": "all logins fail"}),
             ("stage", {"stage": "1"}),
             ("task", {"stage": "1", "task": "1", "note": "API down", "evidence": "https://grafana.example/d/1"}),
             ("note", {"text": "restarting the API"}), ("resolve", {"note": "back up"})]
    for action, form in steps:
        page.clock.now += 60
        answer = page.post(f"/incidents/{incident}/{action}", csrf_token=csrf, lang="en", **form)
        assert answer.status_code == 303, (action, text_of(answer.text)[:300])
    html = page.client.get(f"/incidents/{incident}?lang=en").text
    shown = text_of(html)
    for said in ("assigned to lee02 (ops01)", "severity changed: Major → Critical", "stage 1 started: Initial response",
                 "note: restarting the API (ops01)", "resolved (note: back up) (ops01)"):
        assert said in shown, said
    assert 'href="https://grafana.example/d/1"' in html  # the task's evidence is a link
    assert "done (ops01, 2027-01-15 17:04:00 KST) · API down" in shown
    found = page.incidents.get(incident)
    assert (found["status"], found["severity"], found["assignee"]) == ("resolved", "critical", "lee02")
    assert steps_by(page.db, "ops01") == [
        "incident.resolve", "incident.note", "incident.task", "incident.stage", "incident.severity",
        "incident.assign"]
    [task] = audited(page.db, "incident.task")
    assert task["arguments"]["via"] == "console" and task["arguments"]["evidence"] == "https://grafana.example/d/1"


def test_a_refused_step_is_one_line_on_the_page_in_the_readers_language(page):
    incident = page.open("critical", "API 서비스 중단")
    csrf = page.log_in("ops01")
    page.incidents.resolve(incident, by="kim01", now=NOW + 60)
    refused = page.post(f"/incidents/{incident}/close", csrf_token=csrf)
    assert refused.status_code == 422
    alert = re.search(r'<p class="problem" id="step-error" role="alert">([^<]*)</p>', refused.text)
    assert alert is not None and "사후 분석 보고서" in alert.group(1) and "\n" not in alert.group(1)
    assert_korean("refused close", unescape(alert.group(1)))
    in_english = page.post(f"/incidents/{incident}/close", csrf_token=csrf, lang="en")
    assert "final postmortem" in text_of(in_english.text)
    assert page.incidents.get(incident)["status"] == "resolved"
    bad_stage = page.post(f"/incidents/{incident}/stage", csrf_token=csrf, stage="abc")
    assert bad_stage.status_code == 422 and "abc단계는 없습니다" in text_of(bad_stage.text)
    no_task = page.post(f"/incidents/{incident}/task", csrf_token=csrf, stage="1", task="9")
    assert no_task.status_code == 422 and "1단계에 '9' 작업이 없습니다" in text_of(no_task.text)
    bad_open = page.post("/incidents", csrf_token=csrf, severity="urgent", title="보안 사고")
    assert bad_open.status_code == 422 and "알 수 없는 장애 등급 'urgent'" in text_of(bad_open.text)
    assert 'value="보안 사고"' in bad_open.text  # what was typed is kept
    assert page.post("/incidents/999/ack", csrf_token=csrf).status_code == 404
    assert page.post(f"/incidents/{incident}/explode", csrf_token=csrf).status_code == 404
    assert audited(page.db, "incident.close") == [] and len(page.incidents.list(include_done=True)) == 1


def test_an_operator_opens_an_incident_by_hand(page):
    csrf = page.log_in("ops01")
    listing = page.client.get("/incidents?lang=en").text
    assert 'action="/incidents"' in listing and '<option value="critical">Critical</option>' in listing
    answer = page.post("/incidents", csrf_token=csrf, lang="en", severity="major", title="Data leak reported",
                       description="a customer saw another's invoice")
    assert answer.status_code == 303
    incident = int(answer.headers["location"].split("/")[2].split("?")[0])
    shown = page.text(answer.headers["location"])
    assert f"#{incident} Data leak reported" in shown and "a customer saw another's invoice" in shown
    assert page.incidents.get(incident)["opened_by"] == "ops01"
    assert [e["actor"] for e in audited(page.db, "incident.open")] == ["ops01"]


def test_the_postmortem_editor_writes_fields_and_actions_makes_it_final_and_then_it_closes(page):
    incident = page.open("critical", "API 서비스 중단")
    csrf = page.log_in("ops01")
    page.incidents.resolve(incident, by="kim01", now=NOW + 1800)
    draft = page.client.get(f"/incidents/{incident}/postmortem").text
    assert f"장애 {incident} 사후 분석 보고서 (초안)" in text_of(draft)
    assert_korean("postmortem draft", text_of(draft))
    early = page.post(f"/incidents/{incident}/final", csrf_token=csrf)  # no root cause or fix yet
    assert early.status_code == 422 and 'id="step-error"' in early.text
    answer = page.post(f"/incidents/{incident}/fields", csrf_token=csrf, lang="en", pm="en",
                       root_cause="connection pool exhausted", fix="raised the pool size", impact="", services="")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/incidents/{incident}/postmortem?lang=en&pm=en#fields"
    assert page.post(f"/incidents/{incident}/action_add", csrf_token=csrf, text="alert on pool usage",
                     owner="kim01", due="2027-01-31").status_code == 303
    bad_due = page.post(f"/incidents/{incident}/action_add", csrf_token=csrf, text="x", owner="kim01", due="soon")
    assert bad_due.status_code == 422 and "기한 형식이 잘못되었습니다: 'soon'" in text_of(bad_due.text)
    assert page.post(f"/incidents/{incident}/action_done", csrf_token=csrf, number="1").status_code == 303
    english = page.text(f"/incidents/{incident}/postmortem?lang=ko&pm=en")
    assert "connection pool exhausted" in english and "1. alert on pool usage (owner kim01" in english
    assert page.post(f"/incidents/{incident}/final", csrf_token=csrf).status_code == 303
    final = page.text(f"/incidents/{incident}/postmortem")
    assert f"장애 {incident} 사후 분석 보고서 (최종)" in final and "최종 확정: ops01" in final
    assert "final-form" not in page.client.get(f"/incidents/{incident}/postmortem").text
    assert page.post(f"/incidents/{incident}/close", csrf_token=csrf).status_code == 303
    assert page.incidents.get(incident)["status"] == "closed"
    assert steps_by(page.db, "ops01")[:4] == [
        "incident.close", "incident.postmortem_final", "incident.action_done", "incident.action_add"]


def test_required_tasks_gate_the_next_stage_and_notify_stakeholders_queues_the_status(tmp_path):
    page = Page(tmp_path, notifications=Notifications(channels=[Channel(name="chat-ops", url_env="OPS_CHAT_URL")]),
                incidents=IncidentPlan(follow_up=IncidentFollowUp(stakeholders=["chat-ops"], required_tasks=[[1, 3]])))
    try:
        incident = page.open("critical", "API 서비스 중단")
        csrf = page.log_in("ops01")
        assert page.post(f"/incidents/{incident}/stage", csrf_token=csrf, stage="1").status_code == 303
        gated = page.post(f"/incidents/{incident}/stage", csrf_token=csrf, stage="2", lang="en")
        assert gated.status_code == 422 and "required" in text_of(gated.text)
        page.post(f"/incidents/{incident}/task", csrf_token=csrf, stage="1", task="1")
        notify = page.post(f"/incidents/{incident}/task", csrf_token=csrf, stage="1", task="3", note="sent")
        assert notify.status_code == 303 and page.wakes == 1
        with page.db.session() as session:
            rows = session.query(OutboxRow).filter(OutboxRow.fingerprint == f"incident:{incident}").all()
            assert [r.channel for r in rows] == ["chat-ops"] and "장애 등급: Critical" in rows[0].body
        assert "이해관계자 통보 발송: chat-ops" in page.text(f"/incidents/{incident}")
        assert page.post(f"/incidents/{incident}/stage", csrf_token=csrf, stage="2").status_code == 303
    finally:
        page.db.close()


# --- postmortem downloads and the page's own words (issue 14 item 6: task pdf) ----------------------

def test_a_final_postmortem_refused_names_the_pages_boxes_not_the_cli_flags(page):
    incident = page.open("major", "결제 지연")
    csrf = page.log_in("ops01")
    page.incidents.resolve(incident, by="kim01", now=NOW + 600)
    korean = text_of(page.post(f"/incidents/{incident}/final", csrf_token=csrf).text)
    assert (f"장애 {incident}의 최종 사후 분석 보고서에는 원인과 해결 방안이 필요합니다: "
            "아래 '원인'과 '해결 방안' 칸에") in korean and "--root-cause" not in korean
    page.post(f"/incidents/{incident}/fields", csrf_token=csrf, root_cause="DB 잠금", fix="", impact="", services="")
    english = page.post(f"/incidents/{incident}/final", csrf_token=csrf, lang="en")
    assert english.status_code == 422
    said = text_of(english.text)
    assert "needs the fix: write it in the 'The fix' box below and save" in said and "--fix" not in said


def test_a_viewer_downloads_the_postmortem_as_markdown_html_and_pdf_and_a_stranger_logs_in_first(page):
    from opsplan.pdf import unavailable
    from pdf_text import read_pdf

    incident = page.open("critical", "API 서비스 중단")
    page.incidents.resolve(incident, by="kim01", now=NOW + 1800)
    path = f"/incidents/{incident}/postmortem/download"
    anonymous = page.client.get(f"{path}/md", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
    page.log_in("view01")
    shown = page.client.get(f"/incidents/{incident}/postmortem?pm=en").text
    assert f'href="{path}/md?lang=ko&amp;pm=en" download' in shown
    assert f'href="{path}/html?lang=ko&amp;pm=en" download' in shown
    assert (f'href="{path}/pdf?lang=ko&amp;pm=en"' in shown) == (unavailable() is None)
    markdown = page.client.get(f"{path}/md")
    assert markdown.status_code == 200 and markdown.text.startswith(f"# 장애 {incident} 사후 분석 보고서 (초안)")
    assert markdown.headers["content-disposition"] == (
        f'attachment; filename="opsplan-incident-{incident}-postmortem-draft-ko.md"')
    english = page.client.get(f"{path}/html?pm=en")
    assert english.text.startswith("<!doctype html>") and f"Incident {incident} postmortem (draft)" in english.text
    assert "Noto Sans CJK KR" in english.text  # Hangul readable wherever the file is opened
    assert english.headers["content-disposition"].endswith('postmortem-draft-en.html"')
    printed = page.client.get(f"{path}/pdf")
    if unavailable() is None:
        assert printed.headers["content-type"] == "application/pdf"
        assert f"장애 {incident} 사후 분석 보고서 (초안)" in read_pdf(printed.content).text
    else:
        assert printed.status_code == 503
    assert page.client.get("/incidents/999/postmortem/download/md").status_code == 404
    assert page.client.get(f"{path}/docx").status_code == 404


# --- review of the incident pages (hostile input a person could send) -------------------------------

def test_an_id_beyond_what_the_database_holds_is_no_incident_not_a_server_error(page):
    """A hand-typed or pasted link with a huge id, or a merge target typed into a crafted form: the
    page says there is no such incident (404, or one line on the page), never a 500."""
    incident = page.open("critical", "API 서비스 중단")
    csrf = page.log_in("ops01")
    page.client.raise_server_exceptions = False  # as a browser sees it
    huge = "99999999999999999999"
    for path in (f"/incidents/{huge}", f"/incidents/{huge}/postmortem", f"/incidents/{2**31}",
                 f"/incidents/{huge}/postmortem/download/md"):
        assert page.client.get(path).status_code == 404, path
    assert page.post(f"/incidents/{huge}/note", csrf_token=csrf, text="x").status_code == 404
    merged = page.post(f"/incidents/{incident}/merge", csrf_token=csrf, into=huge)
    assert merged.status_code == 422
    assert f"장애 {huge}가 없습니다" in text_of(merged.text)
    assert page.incidents.get(incident)["status"] == "triggered"


def test_task_evidence_becomes_a_link_only_to_the_web_or_this_server(page):
    """`/\\host` is read by browsers as `//host` (another site): shown as text, like `javascript:`."""
    incident = page.open("critical", "API 서비스 중단")
    csrf = page.log_in("ops01")
    for task, evidence in (("1", "/\\evil.example/login"), ("2", "javascript:alert(1)")):
        assert page.post(f"/incidents/{incident}/task", csrf_token=csrf, stage="1", task=task,
                         evidence=evidence).status_code == 303
    html = page.client.get(f"/incidents/{incident}").text
    assert "evil.example" in html and 'href="/\\evil.example' not in html
    assert 'href="javascript:' not in html


def test_a_nul_in_a_form_is_one_line_and_nothing_is_written(page):
    """PostgreSQL cannot store a NUL: the API refuses it (422); the pages must too, not fail on write."""
    incident = page.open("critical", "API 서비스 중단")
    csrf = page.log_in("ops01")
    before = len(page.incidents.get(incident)["timeline"])
    refused = page.post(f"/incidents/{incident}/note", csrf_token=csrf, text="a\x00b")
    assert refused.status_code == 422
    alert = re.search(r'role="alert">([^<]*)</p>', refused.text)
    assert alert is not None and "NUL" in alert.group(1)
    assert_korean("nul refused", unescape(alert.group(1)))
    opened = page.post("/incidents", csrf_token=csrf, severity="minor", title="보안\x00사고")
    assert opened.status_code == 422 and len(page.incidents.list(include_done=True)) == 1
    assert len(page.incidents.get(incident)["timeline"]) == before


def test_an_incident_opened_by_an_alert_shows_its_alert_in_korean(page):
    """The linked alerts' table says the alert's severity as the rest of the console does
    (`Critical`), not the raw enum value `critical` (KOREAN.md rule 5)."""
    from opsplan.alerts.events import AlertNotice
    from opsplan.incidents.intake import AlertIntake

    AlertIntake(page.incidents, page.clock)(AlertNotice(
        kind="firing", fingerprint="f1", alert="ApiDown", severity="critical",
        labels={"alertname": "ApiDown", "severity": "critical", "service": "llm-api"}, subject="service llm-api",
        subject_ko="서비스 llm-api", summary=Text(ko="API가 응답하지 않습니다", en="API is down"),
        description=Text(ko="-", en="-"), value=0.0, threshold=0.0, for_s=60.0, started_at=NOW))
    [incident] = page.incidents.list()
    page.log_in("view01")
    html = page.client.get(f"/incidents/{incident['id']}").text
    table = html.split('id="incident-alerts"', 1)[1].split("</table>", 1)[0]
    assert "<td>Critical</td>" in table
    assert_korean("incident opened by an alert", text_of(html.split("<main", 1)[1]))


def test_saving_the_postmortem_fields_unchanged_says_so_in_the_pages_words(page):
    """"Save" pressed with nothing changed: one line naming the page's fields, not the CLI's
    `--impact` options (which a console user never sees)."""
    incident = page.open("critical", "API 서비스 중단")
    csrf = page.log_in("ops01")
    form = {"root_cause": "디스크 가득 참", "fix": "", "impact": "", "services": ""}
    assert page.post(f"/incidents/{incident}/fields", csrf_token=csrf, **form).status_code == 303
    said = {}
    for lang in ("ko", "en"):
        again = page.post(f"/incidents/{incident}/fields", csrf_token=csrf, lang=lang, **form)
        assert again.status_code == 422
        alert = re.search(r'role="alert">([^<]*)</p>', again.text)
        assert alert is not None
        said[lang] = unescape(alert.group(1))
    assert "--" not in said["ko"] + said["en"]
    assert "원인" in said["ko"] and "root cause" in said["en"]
    assert_korean("fields unchanged", said["ko"])


def test_refused_steps_name_the_pages_buttons_not_the_cli(page):
    """Closing an open incident, closing a critical one without its final postmortem, making a
    postmortem final without its fields: each refusal names what the page has (its buttons and
    boxes), never an `opsplan incident ...` command or a `--flag` a console user cannot type here."""
    incident = page.open("critical", "API 서비스 중단")
    csrf = page.log_in("ops01")

    def refusal(step: str, lang: str) -> str:
        answer = page.post(f"/incidents/{incident}/{step}", csrf_token=csrf, lang=lang)
        assert answer.status_code == 422
        alert = re.search(r'role="alert">([^<]*)</p>', answer.text)
        assert alert is not None
        return unescape(alert.group(1))

    said = {lang: [refusal("close", lang)] for lang in ("ko", "en")}
    assert "'Resolve'" in said["en"][0] and "'해결'" in said["ko"][0]
    assert page.post(f"/incidents/{incident}/resolve", csrf_token=csrf).status_code == 303
    for lang in ("ko", "en"):
        said[lang] += [refusal("close", lang), refusal("final", lang)]
    assert "Make the postmortem final" in said["en"][1] and "사후 분석 보고서 최종 확정" in said["ko"][1]
    shown = " ".join(said["ko"] + said["en"])
    assert "opsplan incident" not in shown and "--" not in shown, shown
    for line in said["ko"]:
        assert_korean("incident refusal on the page", line)
    assert page.incidents.get(incident)["status"] == "resolved"  # nothing was closed


def test_an_old_incident_still_open_is_on_the_all_list_and_a_merge_target(page, monkeypatch):
    """The pages show the newest LISTED incidents; an older one that is still open must not drop off
    "all incidents" or the merge choices because newer ones ended since."""
    from opsplan.web.console import incident_views

    monkeypatch.setattr(incident_views, "LISTED", 3)
    old = page.open("major", "오래된 장애", at=NOW - 86400)
    for n in range(3):
        ended = page.open("minor", f"오탐 {n}", at=NOW - 3600 + n)
        page.incidents.cancel(ended, by="kim01", now=NOW - 3000 + n, reason="오탐")
    current = page.open("critical", "API 서비스 중단")
    page.log_in("ops01")
    everything = page.client.get("/incidents?all=1").text
    assert f'id="incident-{old}"' in everything and f'id="incident-{current}"' in everything
    detail = page.client.get(f"/incidents/{current}").text
    assert f'<option value="{old}">#{old} 오래된 장애</option>' in detail
