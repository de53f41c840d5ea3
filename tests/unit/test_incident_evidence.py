"""Evidence captured when an incident opens (issue 13 item 5) and the IncidentResponseOverdue alert
(item 1), on the alerting and incident stages as `serve` builds them: a real AlertEngine, a real
SQLite state database, a real metrics store written cycle by cycle (as serve's loop does) and a
real access log file, with an injected clock. What an operator sees is read back through
`opsplan incident show`."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsplan.alerts.engine import AlertEngine
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.overdue import OverdueCollector
from opsplan.metrics import Cycle, sample
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.stages import incidents as incident_stage
from opsplan.stages.all import load_plan, metric_registry
from opsplan.stages.part import StageContext
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB, state_url
from seoul_time import at
from yaml_writer import write_plan

INTERVAL = 15.0


class Serve:
    """The alerting and incident stages of one serve, cycle by cycle, each cycle stored."""

    def __init__(self, plan: Plan, start: float, store: MetricsStore | None):
        self.now = start
        self.db = StateDB.open(state_url(plan.data_dir, None, {}))
        self.context = StageContext(plan=plan, state_db=self.db)
        self.engine = AlertEngine(plan, build_rules(plan, metric_registry()), self.db,
                                  notice_sink=self.context.notices, clock=lambda: self.now, host="ai-server-01")
        self.context.provide(self.engine)
        self.part = incident_stage.STAGE.build(self.context)
        for collector in self.part.collectors:
            collector.clock = lambda: self.now  # type: ignore[attr-defined]
        self.store = store
        if store is not None:
            self.context.provide(store)  # as serve does once the stages are built
        self.incidents = self.context.get(Incidents)
        self.samples: list = []

    def cycle(self, *samples):
        collected = [s for collector in self.part.collectors for s in collector.collect()]
        cycle = Cycle(self.now, [*collected, *samples], 0.1)
        self.engine.on_cycle(cycle)
        for hook in self.part.on_cycle:
            hook(cycle)
        if self.store is not None and not self.store._closed:
            self.store.append(cycle.timestamp, cycle.samples)
        self.samples = cycle.samples
        self.now += INTERVAL

    def hold(self, seconds, *samples):
        for _ in range(int(seconds // INTERVAL)):
            self.cycle(*samples)

    def firing(self, alert):
        return sorted(n.labels.get("incident_severity", "") for n in self.engine.firing_notices() if n.alert == alert)

    def close(self):
        self.db.close()


def api(up):
    return sample("opsplan_api_up", 1 if up else 0, service="llm-api")


def mariadb(slow):
    return [sample("opsplan_mariadb_up", 1), sample("opsplan_mariadb_threads_connected", 12),
            sample("opsplan_mariadb_threads_running", 3), sample("opsplan_mariadb_slow_queries_total", slow)]


def cpu(ratio):
    return sample("opsplan_cpu_usage_ratio", ratio)


def plan_with_log(tmp_path: Path, log: Path, language: str = "en", **extra) -> Path:
    services = [{"name": "llm-api", "url": "http://127.0.0.1:9/health", "access_log": {"path": str(log)}}]
    return write_plan(tmp_path, {"language": language, "services": services, **extra})


def write_access_log(log: Path, lines: int) -> None:
    with log.open("w", encoding="utf-8") as fh:
        for i in range(lines):
            fh.write(f'10.0.0.{i % 250} - - [05/Dec/2026:03:0{i % 10}:00 +0900] "GET /v1/chat?api_key=sk-{i:04d}secret '
                     f'HTTP/1.1" 502 12 "-" "client/{i}"\n')


def postmortem(plan_path: Path, incident_id: int, *extra: str):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(plan_path), "incident", "postmortem", str(incident_id), *extra])


def show(plan_path: Path, incident_id: int, *extra: str):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(plan_path), "incident", "show", str(incident_id), *extra])


@pytest.fixture
def store(tmp_path):
    clock = [0.0]
    with MetricsStore(tmp_path / "store", clock=lambda: clock[0]) as opened:
        opened.test_clock = clock  # type: ignore[attr-defined]
        yield opened


def test_an_incident_opens_with_the_hour_before_its_alerts_mariadb_and_the_access_log(tmp_path, store):
    log = tmp_path / "access.log"
    write_access_log(log, 300)
    path = plan_with_log(tmp_path, log)
    start = at("2026-12-05 02:00")
    store.test_clock[0] = start + 3 * 3600
    serve = Serve(load_plan(path), start, store)
    # An hour and more of a healthy API, MariaDB readings and a CPU that runs hot (its alert fires).
    serve.hold(70 * 60, api(up=True), cpu(0.97), *mariadb(slow=40))
    serve.hold(120, api(up=False), cpu(0.97), *mariadb(slow=42))  # ApiDown fires after 60 s down
    [incident] = serve.incidents.list()
    shown = serve.incidents.get(incident["id"])
    [evidence] = [e for e in shown["timeline"] if e["kind"] == "evidence"]
    data = evidence["data"]
    assert evidence["at"] == shown["opened_at"] and data["alert"] == "ApiDown"

    chart = data["chart"]
    assert chart["metric"] == "opsplan_api_up" and chart["matchers"] == {"service": "llm-api"}
    [series] = chart["series"]
    points = series["points"]
    assert 100 <= len(points) <= 120  # the hour before, downsampled to 30 s buckets
    assert points[0][0] >= shown["opened_at"] - 3600 and points[-1][0] <= shown["opened_at"]
    assert [p[1] for p in points[:-4]] == [1.0] * (len(points) - 4) and points[-1][1] == 0.0  # up, then down

    [other] = data["alerts"]["firing"]
    assert (other["alert"], other["severity"]) == ("CpuUsageHigh", "critical")
    assert data["mariadb"]["up"] == 1 and data["mariadb"]["threads_connected"] == 12
    assert data["mariadb"]["threads_running"] == 3 and data["mariadb"]["slow_queries_total"] == 42

    logged = data["access_log"]
    assert logged["service"] == "llm-api" and len(logged["lines"]) == 20
    assert logged["lines"][-1].startswith("10.0.0.49 ") and "client/299" in logged["lines"][-1]
    assert not any("secret" in line for line in logged["lines"])  # api_key=*** masked
    serve.close()

    # `opsplan incident show` words it (en, then ko).
    text = show(path, incident["id"])
    assert text.exit_code == 0, text.output
    assert "Evidence captured at opening" in text.output
    assert "Chart opsplan_api_up:" in text.output and "last 0 (threshold 0)" in text.output
    assert "Other alerts firing: 1" in text.output and "CPU usage is high (CpuUsageHigh, Critical" in text.output
    assert "MariaDB (at 2026-12-05 03:10:45): up, " in text.output and "12 connections, 3 threads running, 42 slow" \
        in text.output
    assert "Access log " in text.output and "client/299" in text.output and "secret" not in text.output
    korean = show(plan_with_log(tmp_path, log, language="ko"), incident["id"])
    assert "장애 시작 시점의 근거 자료 수집" in korean.output and "함께 발생 중인 알림 1개:" in korean.output
    assert "연결 12개, 실행 중인 스레드 3개, 느린 쿼리 누적 42건" in korean.output
    as_json = json.loads(show(path, incident["id"], "--json").output)
    assert [e for e in as_json["timeline"] if e["kind"] == "evidence"][0]["data"]["chart"]["series"]

    # The postmortem carries it: in HTML the chart is drawn (an inline SVG line with its threshold).
    page = postmortem(path, incident["id"], "--format", "html", "--lang", "en")
    assert page.exit_code == 0, page.output
    html = page.output
    assert "<h2>Evidence at opening</h2><svg" in html and "The hour before ApiDown: opsplan_api_up" in html
    polyline = re.search(r'<polyline points="([^"]+)"', html)
    assert polyline is not None and len(polyline.group(1).split()) == len(points)
    assert 'class="threshold"' in html and "client/299" in html and "secret" not in html
    markdown = postmortem(path, incident["id"], "--lang", "ko").output
    assert "## 장애 시작 시점의 근거 자료" in markdown and "연결 12개" in markdown


def test_a_failing_evidence_source_is_recorded_with_its_reason_and_the_incident_still_opens(tmp_path, store):
    log = tmp_path / "access.log"
    os.mkfifo(log)  # the plan names a named pipe: reading it would wait for a writer forever
    path = plan_with_log(tmp_path, log, language="ko")
    start = at("2026-12-05 02:00")
    store.test_clock[0] = start
    serve = Serve(load_plan(path), start, store)
    serve.hold(300, api(up=True))
    store.close()  # the store fails every read from now on
    serve.hold(120, api(up=False))
    [incident] = serve.incidents.list()
    assert incident["severity"] == "critical" and incident["status"] == "triggered"
    data = next(e for e in serve.incidents.get(incident["id"])["timeline"] if e["kind"] == "evidence")["data"]
    assert data["chart"]["unavailable"] == "error" and data["mariadb"]["unavailable"] == "error"
    assert data["access_log"]["unavailable"] == "log_unreadable" and str(log) in data["access_log"]["detail"]
    assert data["alerts"] == {"firing": [], "more": 0}
    serve.close()
    text = show(path, incident["id"]).output
    assert "차트: 근거 자료 없음: 수집 중 오류가 났습니다" in text
    assert "접근 로그: 근거 자료 없음: 접근 로그를 읽을 수 없었습니다" in text
    assert "함께 발생 중인 다른 알림이 없습니다." in text


def test_outside_serve_there_is_no_store_and_the_evidence_says_so(tmp_path):
    path = write_plan(tmp_path, {"language": "en"})
    serve = Serve(load_plan(path), at("2026-12-05 02:00"), None)
    serve.hold(120, api(up=False))
    [incident] = serve.incidents.list()
    data = next(e for e in serve.incidents.get(incident["id"])["timeline"] if e["kind"] == "evidence")["data"]
    assert data["chart"]["unavailable"] == "no_store" and data["mariadb"]["unavailable"] == "no_store"
    assert data["access_log"]["unavailable"] == "no_access_log"
    serve.close()
    assert "chart: evidence unavailable: the metrics store was not open" in show(path, incident["id"]).output


def test_incident_response_overdue_fires_when_a_deadline_passes_and_opens_no_incident(tmp_path):
    # A catch-all mapping: every alert maps to an incident, yet the overdue alert opens none.
    path = write_plan(tmp_path, {"language": "en", "incidents": {"from_alerts": [
        {"alerts": ["ApiDown"], "incident": "critical"}, {"alerts": [], "incident": "minor"}]}})
    serve = Serve(load_plan(path), at("2026-12-05 03:00"), None)
    serve.hold(120, api(up=False))
    [incident] = serve.incidents.list()
    assert incident["ack_due"] == incident["opened_at"] + 15 * 60
    serve.hold(incident["ack_due"] - serve.now, api(up=False))  # up to the deadline: not yet overdue
    assert serve.firing("IncidentResponseOverdue") == []
    serve.hold(INTERVAL, api(up=False))  # the deadline itself: not yet past
    assert serve.firing("IncidentResponseOverdue") == []
    # The cycle after it counts the incident overdue; the next one's rules see that count.
    serve.hold(2 * INTERVAL, api(up=False))
    assert serve.firing("IncidentResponseOverdue") == ["critical"]
    [notice] = [n for n in serve.engine.firing_notices() if n.alert == "IncidentResponseOverdue"]
    assert notice.severity == "critical" and "1 open incident(s) past" in notice.description.en
    assert notice.subject_ko == "장애 등급 Critical"
    serve.hold(5 * 60, api(up=False))
    assert [i["id"] for i in serve.incidents.list()] == [incident["id"]]  # no incident about the incident
    # A serve that just started has no count from a previous cycle: its collector asks the database.
    fresh = OverdueCollector(serve.context.plan, serve.db, clock=lambda: serve.now)
    assert {s.label("incident_severity"): s.value for s in fresh.collect()} == {"critical": 1, "major": 0, "minor": 0}

    serve.incidents.enter_stage(incident["id"], 1, by="kim", now=serve.now)
    serve.hold(2 * INTERVAL, api(up=False))
    assert serve.firing("IncidentResponseOverdue") == []
    serve.close()


def test_the_plan_check_refuses_a_mapping_that_names_the_overdue_alert(tmp_path):
    from opsplan.cli.main import app

    path = write_plan(tmp_path, {"language": "en", "incidents": {"from_alerts": [
        {"alerts": ["IncidentResponseOverdue"], "incident": "minor"}]}})
    result = CliRunner().invoke(app, ["--plan", str(path), "plan", "check"])
    assert result.exit_code != 0
    assert "IncidentResponseOverdue is about incidents and never opens one" in result.output


def test_the_console_incident_page_draws_the_evidence_chart_and_words_the_rest(tmp_path):
    from opsplan.alerts.events import AlertNotice
    from opsplan.incidents.evidence import EvidenceSources
    from opsplan.incidents.records import event
    from opsplan.plan.models import Text
    from unit.test_incidents_page import NOW, Page, text_of
    from unit.test_korean_text import assert_korean
    from unit.test_security_headers import InlineFinder

    page = Page(tmp_path)
    incident_id = page.open("critical", "API 장애")
    # The evidence as the intake captures it, from a real store holding the hour before.
    with MetricsStore(tmp_path / "store", clock=lambda: NOW) as store:
        for k in range(240):
            store.append(NOW - 3600 + k * INTERVAL, [api(up=k < 230), *mariadb(slow=7)])
        sources = EvidenceSources(page.plan, store=lambda: store, rules=build_rules(page.plan, metric_registry()),
                                  firing=lambda: [])
        notice = AlertNotice(kind="firing", fingerprint="f1", alert="ApiDown", severity="critical",
                             labels={"alertname": "ApiDown", "severity": "critical", "service": "llm-api"},
                             subject="service llm-api", summary=Text(ko="API가 응답하지 않습니다", en="API is down"),
                             description=Text(ko="-", en="-"), value=0.0, threshold=0.0, for_s=60.0, started_at=NOW)
        found = sources.capture(notice, NOW)
    with page.db.session() as session:
        event(session, incident_id, "evidence", "opsplan", NOW, alert="ApiDown", **found)

    page.log_in("view01")
    html = page.client.get(f"/incidents/{incident_id}").text
    assert '<div id="evidence-chart"><svg' in html and "<polyline" in html and 'class="threshold"' in html
    shown = text_of(html)
    assert "장애 시작 시점의 근거 자료" in shown and "연결 12개, 실행 중인 스레드 3개, 느린 쿼리 누적 7건" in shown
    assert "접근 로그: 근거 자료 없음: 운영 계획서에 이 서비스의 접근 로그가 없습니다" in shown
    assert_korean("incident evidence", re.sub(r"[▁▂▃▄▅▆▇█]+", "", shown))
    finder = InlineFinder()
    finder.feed(html)
    assert finder.blocked == []
    page.db.close()
