"""The Metrics page (GET /charts) through FastAPI's TestClient with a real identity stage on SQLite:
it needs a login, lists a chart per part of the box the plan names, shows each chart's thresholds
as the plan's alert rules hold them (a changed plan shows the new level), offers the ranges as
plain links, refuses a range it does not know in one line, and reads as Korean in Korean."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsplan.plan.models import CustomRule, GroupMember, Plan, Text
from opsplan.stages.all import metric_registry
from opsplan.store.state import StateDB
from opsplan.web.console.chart_specs import sections, shown
from opsplan.web.console.charts import charts_router
from opsplan.web.console.frame import Console
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users
from unit.test_korean_text import assert_korean
from unit.test_security_headers import InlineFinder

NOW = 1_800_000_000.0
PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
CHART = re.compile(r"<figure class=\"chart\" id=\"chart-([\w-]+)\" data-chart='([^']*)'")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    state = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    Users(state, tmp_path, lambda: NOW, FAST).add("view01", "viewer", PASSWORD, actor="root")
    yield state
    state.close()


def client_for(plan: Plan, db: StateDB) -> TestClient:
    """The identity stage's routes and the Metrics page on one app, as serve mounts them."""
    web = build_identity_web(plan, db, lambda: NOW, hasher=FAST)
    console = Console(plan, web)
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.include_router(identity_router(web))
    app.include_router(charts_router(console, metric_registry()))
    return TestClient(app)


def logged_in(plan: Plan, db: StateDB) -> TestClient:
    client = client_for(plan, db)
    answer = client.post("/login", data={"name": "view01", "password": PASSWORD}, headers=ORIGIN,
                         follow_redirects=False)
    assert answer.status_code == 303
    return client


def charts(page: str) -> dict[str, dict]:
    """The charts on the page, by id, with what the script is given for each."""
    return {m.group(1): json.loads(html.unescape(m.group(2))) for m in CHART.finditer(page)}


def thresholds_text(page: str, chart_id: str) -> str:
    """The line of thresholds under a chart's title, as a person reads it."""
    found = re.search(rf'<p class="thresholds meta" id="thresholds-{chart_id}">(.*?)</p>', page)
    assert found, chart_id
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def text_of(page: str) -> str:
    """What a person reads: the markup without tags and attributes."""
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def test_the_page_needs_a_login_and_is_in_the_navigation(tmp_path, db):
    client = client_for(Plan(data_dir=tmp_path), db)
    answer = client.get("/charts?range=6h", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fcharts%3Frange%3D6h"
    client = logged_in(Plan(data_dir=tmp_path), db)
    page = client.get("/charts?lang=en").text
    assert '<a href="/charts?lang=en" aria-current="page">Metrics</a>' in page
    assert "<h1>Metrics · ai-server-01</h1>" in page


def test_the_seed_plan_gets_a_chart_per_group_gpu_service_and_mariadb_with_its_thresholds(tmp_path, db):
    page = logged_in(Plan(data_dir=tmp_path), db).get("/charts?lang=en").text
    found = charts(page)
    assert set(found) == {
        "cpu", "memory", "group-ai-cpu", "group-ai-memory", "group-app-cpu", "group-app-memory",
        *(f"gpu-{i}-{kind}" for i in range(4) for kind in ("util", "memory", "temp")),
        "service-0-p95", "service-0-errors", "service-0-rps", "service-0-users", "mariadb-connections"}
    # Section headings a person reads, with the plan's names.
    for heading in ("Whole server", "Allocation group: AI system (ai)", "GPU 3 · Application/DB",
                    "Service llm-api", "MariaDB"):
        assert f">{heading}</h2>" in page
    # The seed's §3.2 levels, as the alert rules hold them, in the metric's units and as text.
    assert [(th["severity"], th["value"]) for th in found["cpu"]["thresholds"]] == [("warning", 0.8), ("critical", 0.9)]
    assert [(th["severity"], th["value"]) for th in found["gpu-2-temp"]["thresholds"]] == [
        ("warning", 83.0), ("critical", 90.0)]
    assert [(th["severity"], th["value"]) for th in found["service-0-p95"]["thresholds"]] == [("warning", 2.0)]
    assert [(th["severity"], th["value"]) for th in found["service-0-errors"]["thresholds"]] == [("critical", 0.01)]
    assert thresholds_text(page, "cpu") == "Thresholds: warning 80.0% (CpuUsageHigh) · critical 90.0% (CpuUsageHigh)"
    assert thresholds_text(page, "gpu-0-temp") == (
        "Thresholds: warning 83°C (GpuTemperatureHigh) · critical 90°C (GpuTemperatureHigh)")
    assert thresholds_text(page, "service-0-p95") == "Thresholds: warning 2 s (ApiResponseTimeHigh)"
    assert thresholds_text(page, "gpu-0-util") == "No threshold in the alert rules"
    # What each chart asks /api/v1/query for: the collectors' real names, the chart's subject.
    assert found["gpu-2-temp"]["queries"] == [{"metric": "opsplan_gpu_temperature_celsius", "match": ["gpu=2"],
                                               "label": "GPU 2", "label_by": ""}]
    assert found["service-0-p95"]["queries"][0]["match"] == ["service=llm-api", "quantile=0.95"]
    assert [q["metric"] for q in found["mariadb-connections"]["queries"]] == [
        "opsplan_mariadb_threads_connected", "opsplan_mariadb_max_connections"]
    # The seed names no group members: their charts say why they stay empty, before any script runs.
    assert "Not measured: the plan names no members for this group." in text_of(page)
    finder = InlineFinder()
    finder.feed(page)
    assert finder.blocked == []


def test_a_changed_threshold_in_the_plan_is_the_one_drawn(tmp_path, db):
    plan = Plan(data_dir=tmp_path)
    plan.monitoring.alerts.cpu.warning = 70
    plan.monitoring.alerts.gpu_temperature.critical = 95
    plan.monitoring.rules.append(CustomRule(alert="GpuZeroHot", metric="opsplan_gpu_temperature_celsius",
                                            match={"gpu": "0"}, threshold=75, summary=Text(ko="뜨거움", en="hot")))
    found = charts(logged_in(plan, db).get("/charts?lang=en").text)
    assert [th["label"] for th in found["cpu"]["thresholds"]] == ["warning 70.0% (CpuUsageHigh)",
                                                                  "critical 90.0% (CpuUsageHigh)"]
    assert [th["value"] for th in found["gpu-1-temp"]["thresholds"]] == [83.0, 95.0]
    # The operator's own rule on GPU 0 is drawn on GPU 0's chart only.
    assert "warning 75°C (GpuZeroHot)" in [th["label"] for th in found["gpu-0-temp"]["thresholds"]]
    assert "GpuZeroHot" not in json.dumps(found["gpu-1-temp"])
    # A level the plan turns off is not drawn.
    plan.monitoring.alerts.cpu.warning = None
    found = charts(logged_in(plan, db).get("/charts?lang=en").text)
    assert [th["severity"] for th in found["cpu"]["thresholds"]] == ["critical"]


def test_group_members_and_no_services_change_what_is_charted(tmp_path, db):
    plan = Plan(data_dir=tmp_path, services=[])
    plan.allocation[0].members.append(GroupMember(unit="vllm.service"))
    page = logged_in(plan, db).get("/charts?lang=en").text
    found = charts(page)
    assert found["group-ai-memory"]["unmeasured"] == "" and found["group-app-memory"]["unmeasured"]
    assert [th["value"] for th in found["group-ai-memory"]["thresholds"]] == [0.9, 1.0]
    assert "Memory used / budget of 128 GB" in page
    assert found["group-ai-cpu"]["transform"] == "rate_sum"
    assert not any(chart_id.startswith("service-") for chart_id in found)
    assert "The plan names no services to watch." in page


def test_the_range_picker_is_plain_links_and_sets_what_the_script_asks_for(tmp_path, db):
    client = logged_in(Plan(data_dir=tmp_path), db)
    page = client.get("/charts?lang=en").text
    assert re.findall(r'href="/charts\?range=(\w+)&amp;lang=en"', page) == ["1h", "6h", "24h", "7d", "30d"]
    assert 'aria-current="true" data-range="1h">1 hour</a>' in page
    assert 'data-start="now-1h"' in page and 'data-step="15.0"' in page
    page = client.get("/charts?range=7d&lang=en").text
    assert 'aria-current="true" data-range="7d">7 days</a>' in page
    assert 'data-start="now-7d"' in page and 'data-step="1800.0"' in page
    assert "Charts need JavaScript" in page  # the <noscript> note
    # Switching language keeps the range chosen.
    assert 'href="/charts?range=7d&amp;lang=ko" lang="ko"' in page
    answer = client.get("/charts?range=2h")
    assert answer.status_code == 400
    assert answer.text == ("지원하지 않는 기간: '2h' (1h, 6h, 24h, 7d, 30d 중 하나) / "
                           "unsupported range '2h' (one of 1h, 6h, 24h, 7d, 30d)\n")


def test_a_slow_monitoring_interval_sets_the_step(tmp_path, db):
    plan = Plan(data_dir=tmp_path)
    plan.monitoring.interval = 120
    page = logged_in(plan, db).get("/charts?range=6h").text
    assert 'data-step="120.0"' in page


def test_the_korean_page_reads_as_korean(tmp_path, db):
    plan = Plan(data_dir=tmp_path, language="ko")
    page = logged_in(plan, db).get("/charts").text
    assert '<html lang="ko">' in page and "CPU 사용률" in page and "Warning 80% (CpuUsageHigh)" in page
    assert "Critical 90°C (GpuTemperatureHigh)" in page and "할당 그룹: AI 시스템 (ai)" in page
    assert_korean("the Korean Metrics page", text_of(page))
    texts = json.loads(html.unescape(re.search(r"data-texts='([^']*)'", page).group(1)))
    assert texts["summary"] == "{name}: 마지막 값 {value} ({time}), 최소 {low}, 최대 {high}"
    # The script fills the {placeholders} with values (checked by the browser test).
    assert_korean("the script's Korean words", re.sub(r"\{\w+\}", "", "\n".join(texts.values())))


@pytest.mark.parametrize(("unit", "value", "en", "ko"), [
    ("ratio", 0.8, "80.0%", "80%"), ("ratio", 0.9523, "95.2%", "95.2%"),
    ("celsius", 83.0, "83°C", "83°C"), ("seconds", 2.0, "2 s", "2 s"), ("seconds", 0.3456, "345.6 ms", "345.6 ms"),
    ("seconds", 90.0, "1m 30s", "1분 30초"), ("bytes", 128e9, "128 GB", "128 GB"),
    ("rate", 1234.5, "1,234.5 req/s", "1,234.5 req/s"), ("number", 12.0, "12", "12"),
])
def test_values_are_written_one_way(unit, value, en, ko):
    assert shown(unit, value, "en") == en and shown(unit, value, "ko") == ko


def test_sections_follow_the_plan_without_a_web_request(tmp_path):
    plan = Plan(data_dir=tmp_path)
    plan.allocation[1].gpus = []
    titles = [s.title for s in sections(plan, metric_registry(), "en")]
    assert "GPU 3 · Application/DB" not in titles and "GPU 2 · AI system" in titles
