"""The overview page as a new operator reads it (issue 12 items 3 and 4): pending alerts shown with a
header and since when, a failed backup's reason in Korean, a storage path that does not exist said
so, empty states that explain themselves, `?lang=` limited to ko/en, no inline script or style, and
the vendored assets served and pinned by their hash.

Real parts: the alert engine with the plan's rules on a real state database, the backup catalog and
its collector, the allocation collector walking real (and missing) paths."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.queries import acknowledge
from opsplan.alerts.silences import Matcher, add_silence
from opsplan.backup.database import catalog
from opsplan.backup.database.metrics import BackupCollector
from opsplan.collectors.allocation import AllocationCollector
from opsplan.metrics import CollectorStatus, Cycle, sample
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import AllocationGroup, Plan, Text
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from opsplan.web.alerts_page import alerts_page_router
from opsplan.web.app import ServeState, create_app
from opsplan.web.console.frame import Console

NOW = 1_800_000_000.0  # 2027-01-15 17:00:00 KST
GB = 10**9
VENDOR = Path(__file__).resolve().parents[2] / "src" / "opsplan" / "web" / "static" / "vendor"


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class FixedCycle:
    """The collection loop as the page reads it: one finished cycle."""

    def __init__(self, cycle: Cycle | None):
        self.last_cycle = cycle
        self.store_error = None


def _hot(now: float) -> Cycle:
    # MariaDB down fires after 60 s; CPU at 99% needs 5 minutes: after two minutes it is pending.
    return Cycle(now, [sample("opsplan_cpu_usage_ratio", 0.99), sample("opsplan_mariadb_up", 0.0),
                       sample("opsplan_collector_up", 0.0, collector="mariadb")], 0.1)


def _plan(tmp_path: Path) -> Plan:
    (tmp_path / "ai").mkdir()
    (tmp_path / "ai" / "weights.bin").write_bytes(b"x" * 4096)
    return Plan(language="ko", allocation=[
        AllocationGroup(id="ai", name=Text(ko="AI 시스템", en="AI system"), memory=128 * GB, storage=2000 * GB,
                        gpus=[0, 1, 2], paths=[tmp_path / "ai"]),
        AllocationGroup(id="app", name=Text(ko="애플리케이션/DB", en="Application/DB"), memory=128 * GB,
                        storage=2000 * GB, gpus=[3], paths=[tmp_path / "no-such-dir"]),
    ])


def _client(tmp_path: Path, plan: Plan, db: StateDB, *, alerts: AlertEngine | None = None,
            extra: list | None = None, routers: list | None = None) -> Iterator[TestClient]:
    allocation = AllocationCollector(plan, background=False)
    samples = [*BackupCollector(plan, db, clock=lambda: NOW).collect(), *allocation.collect(), *(extra or [])]
    cycle = Cycle(NOW, samples, 0.25, [CollectorStatus("system", True, 0.1),
                                       CollectorStatus("mariadb", False, 0.1, "connection refused")])
    with MetricsStore(tmp_path / "metrics", clock=lambda: NOW) as store:
        state = ServeState(plan=plan, latest=LatestSamples(metric_registry()), loop=FixedCycle(cycle),
                           store=store, store_lock=threading.Lock(), state_db=db, alerts=alerts)
        yield TestClient(create_app(state, routers=routers or ()), base_url="http://127.0.0.1:8080")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    state_db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield state_db
    state_db.close()


@pytest.fixture
def busy(tmp_path: Path, db: StateDB) -> Iterator[TestClient]:
    """Two minutes of a hot box (one alert firing, one pending) and a database backup that failed."""
    plan = _plan(tmp_path)
    clock = Clock(NOW - 120)
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=lambda notice: None,
                         clock=clock, host="ai-server-01")
    while clock.now <= NOW:
        if clock.now == NOW:  # an operator acknowledged MariaDB being down just before this cycle
            down = next(a for a in engine.active() if a.alert == "MariaDBDown")
            acknowledge(db, down.fingerprint, by="ops01", comment="restarting it", now=clock.now)
        engine.on_cycle(_hot(clock.now))
        clock.now += 15
    with db.session() as session:
        session.add(catalog.DbBackup(target="database", kind="full", status=catalog.FAILED,
                                     started_at=NOW - 7200, finished_at=NOW - 7100,
                                     reason="disk full in /srv/backup: [Errno 28] No space left on device"))
    yield from _client(tmp_path, plan, db, alerts=engine)


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</table>", start)]


def _rows(table: str) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)]


def test_pending_alerts_are_listed_under_a_header_with_since(busy: TestClient) -> None:
    page = busy.get("/?lang=ko").text
    assert "발생 중인 알림 없음" not in page
    assert "열린 알림: 발생 1개, 대기 3개" in page  # CPU above its Warning and Critical levels, CollectorDown
    header, *rows = _rows(_section(page, "alerts"))
    assert header.split() == ["상태", "심각도", "알림", "대상", "시작", "값", "임계값", "처리"]
    firing = next(r for r in rows if "MariaDBDown" in r)
    pending = next(r for r in rows if "CpuUsageHigh" in r and "Critical" in r)
    assert firing.startswith("✖ 발생 Critical") and rows.index(firing) < rows.index(pending)
    assert pending.startswith("○ 대기")
    # Since when, in the plan's timezone: the CPU's condition held from the first hot cycle.
    assert "2027-01-15 16:58:00 KST" in pending
    assert "99% 90%" in pending  # value and threshold, as Korean writes them
    assert "ai-server-01" in pending  # a host-wide alert names the host
    assert "상태 알림 (임계값 없음)" in firing  # MariaDB down has no threshold to show
    assert firing.endswith("✔ 확인됨") and "확인됨" not in pending  # the acknowledgement is marked

    en = _rows(_section(busy.get("/?lang=en").text, "alerts"))
    assert en[0].split()[:3] == ["State", "Severity", "Alert"]
    assert any(r.startswith("○ pending warning") or r.startswith("○ pending critical") for r in en)


def test_a_collector_that_is_down_says_since_when(busy: TestClient) -> None:
    rows = _rows(_section(busy.get("/?lang=ko").text, "collector-table"))
    mariadb = next(r for r in rows if r.startswith("MariaDB"))
    assert "✖ 중단" in mariadb and "2027-01-15 16:58:00 KST부터 중단" in mariadb
    assert "상세: connection refused" in mariadb
    en = _rows(_section(busy.get("/?lang=en").text, "collector-table"))
    assert any("down since 2027-01-15 16:58:00 KST" in r for r in en)


def test_the_busy_korean_overview_has_no_english_left(busy: TestClient) -> None:
    from test_korean_text import assert_korean  # the same allowed list as every Korean text

    page = busy.get("/?lang=ko").text
    text = re.sub(r"<[^>]+>", "\n", page)
    assert_korean("overview", "\n".join(line.strip() for line in text.splitlines() if line.strip()))


def test_a_failed_backup_says_why_in_korean(busy: TestClient) -> None:
    row = next(r for r in _rows(_section(busy.get("/?lang=ko").text, "backups")) if r.startswith("데이터베이스"))
    assert "✖ 실패" in row and "백업 디렉터리 공간 부족" in row
    assert "상세: disk full in /srv/backup" in row  # the tool's words on their own line
    assert "아직 성공한 백업 없음" in row and "– –" not in row
    en = next(r for r in _rows(_section(busy.get("/?lang=en").text, "backups")) if r.startswith("database"))
    assert "the backup directory is full" in en


def test_a_storage_path_that_does_not_exist_is_said_not_counted(busy: TestClient, tmp_path: Path) -> None:
    page = busy.get("/?lang=ko").text
    app = page[page.index('id="group-app"'):]
    app = app[:app.index("</div>")]
    storage = next(r for r in _rows(app) if r.startswith("스토리지 사용 / 할당"))
    assert f"경로 없음: {tmp_path / 'no-such-dir'}" in storage
    assert "0 GB /" not in storage and "0.0 GB" not in storage
    ai = page[page.index('id="group-ai"'):]
    assert "경로 없음" not in ai[:ai.index("</div>")]


def test_empty_states_explain_themselves(tmp_path: Path, db: StateDB) -> None:
    client = next(_client(tmp_path, _plan(tmp_path), db))
    page = client.get("/?lang=ko").text
    backups = _rows(_section(page, "backups"))
    assert any("아직 백업 없음: 첫 백업은 2027-01-16 02:00 KST에 실행됩니다" in r for r in backups)
    assert "– –" not in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "이번 수집에서 읽은 값 없음" in page  # no GPU figures this cycle: said, not a row of dashes
    assert "아직 백업 복구 테스트 없음: 다음 테스트는" in page
    assert "발생 또는 대기 중인 알림 없음" not in page  # no alert engine: "no alert" is not claimed
    assert "알림 규칙 평가가 실행 중이 아님" in page
    en = client.get("/?lang=en").text
    assert "no backup yet: the first runs at 2027-01-16 02:00 KST" in en


def test_lang_takes_ko_or_en_only(busy: TestClient) -> None:
    for path in ("/?lang=fr", "/overview?lang=fr"):
        answer = busy.get(path)
        assert answer.status_code == 400
        assert answer.text.strip() == ("지원하지 않는 언어: 'fr' ('ko' 또는 'en'만 가능) / "
                                       "unsupported language: 'fr' ('ko' or 'en' only)")
    assert '<html lang="ko">' in busy.get("/").text  # the plan's language by default
    assert '<html lang="en">' in busy.get("/?lang=en").text


def test_the_page_has_no_inline_script_or_style_and_refreshes_through_htmx(busy: TestClient) -> None:
    answer = busy.get("/")
    page = answer.text
    # The policy lets the page's own script run and fetch its fragment, and nothing inline.
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "connect-src 'self';" in csp and "unsafe" not in csp
    assert "<style" not in page and 'style="' not in page and not re.search(r"\son[a-z]+=", page)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts == [(' src="/static/vendor/htmx.min.js" defer', "")]
    assert '<noscript><meta http-equiv="refresh"' in page  # without JavaScript it still refreshes
    assert "<header>" in page and '<main id="main">' in page and "<nav " in page
    assert 'hx-get="/overview?lang=ko"' in page and 'hx-trigger="every 15s"' in page
    fragment = busy.get("/overview?lang=ko")
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<div id="overview"')
    assert "<html" not in fragment.text and "MariaDBDown" in fragment.text


def test_every_table_header_has_a_scope(busy: TestClient) -> None:
    page = busy.get("/").text
    headers = re.findall(r"<th\b[^>]*>", page)
    assert headers and all("scope=" in h for h in headers)


@pytest.mark.parametrize(("name", "content_type"), [
    ("htmx.min.js", "javascript"), ("uPlot.iife.min.js", "javascript"), ("uPlot.min.css", "text/css")])
def test_vendored_assets_are_served_with_their_type(busy: TestClient, name: str, content_type: str) -> None:
    answer = busy.get(f"/static/vendor/{name}")
    assert answer.status_code == 200 and content_type in answer.headers["content-type"]
    assert answer.content == (VENDOR / name).read_bytes()


def test_every_vendored_file_is_listed_with_its_hash() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| (\S+) \|.*\| ([0-9a-f]{64}) \|$", readme, flags=re.M))
    on_disk = {p.name for p in VENDOR.iterdir() if p.name != "README.md"}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_an_acknowledgement_and_a_silence_show_on_the_overview_at_once_as_on_the_alerts_page(tmp_path, db):
    """Was: the overview marked an alert acknowledged (or silenced) only after the engine's next cycle,
    while the alerts page showed it at once: for up to an interval the two pages disagreed. Both now
    read what is stored (web/status_alerts.py)."""
    plan = _plan(tmp_path)
    clock = Clock(NOW - 120)
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=lambda notice: None,
                         clock=clock, host="ai-server-01")
    while clock.now <= NOW:
        engine.on_cycle(_hot(clock.now))
        clock.now += 15
    clock.now = NOW
    down = next(a for a in engine.active() if a.alert == "MariaDBDown")
    cpu = next(a for a in engine.active() if a.alert == "CpuUsageHigh" and a.severity == "critical")
    # After the last cycle: one operator acknowledges MariaDB, another silences the CPU alert.
    acknowledge(db, down.fingerprint, by="ops01", comment="restarting it", now=NOW)
    add_silence(db, [Matcher(k, "=", v) for k, v in cpu.labels.items()], starts_at=NOW, ends_at=NOW + 3600,
                author="ops02", comment="", now=NOW)
    assert down.ack_by is None and not cpu.silenced  # the engine has not seen either yet

    for client in _client(tmp_path, plan, db, alerts=engine, routers=[alerts_page_router(engine, Console(plan, None))]):
        overview = _rows(_section(client.get("/?lang=en").text, "alerts"))
        alerts_page = client.get("/alerts?lang=en").text
    assert next(r for r in overview if "MariaDBDown" in r).endswith("✔ acknowledged")
    assert next(r for r in overview if "CpuUsageHigh" in r and "critical" in r).endswith("⊘ silenced")
    listed = _rows(_section(alerts_page, "alert-list"))
    assert "acknowledged by ops01" in next(r for r in listed if "MariaDBDown" in r)
    assert "⊘ silenced" in next(r for r in listed if "CpuUsageHigh" in r and "critical" in r)
    # Each row marked on one page is marked on the other.
    assert sum("✔" in r for r in overview) == sum("✔" in r for r in listed) == 1
    assert sum("⊘" in r for r in overview) == sum("⊘" in r for r in listed) == 1


def test_open_incidents_show_their_deadlines_met_running_or_overdue(tmp_path: Path, db: StateDB):
    from opsplan.incidents.lifecycle import Incidents

    plan = _plan(tmp_path)
    incidents = Incidents(plan, db, holiday_source=lambda _country, _year: set())
    late = incidents.open("critical", Text(ko="API 전체 중단", en="API down"), by="kim", now=NOW - 3600)
    acked = incidents.open("critical", Text(ko="MariaDB 응답 없음", en="MariaDB not answering"), by="kim",
                           now=NOW - 600)
    incidents.acknowledge(acked, by="lee", now=NOW - 500)
    fresh = incidents.open("critical", Text(ko="GPU 3 온도", en="GPU 3 temperature"), by="kim", now=NOW - 30)
    done = incidents.open("minor", Text(ko="응답 지연", en="Slow answers"), by="kim", now=NOW - 7200)
    incidents.cancel(done, by="kim", now=NOW - 7000, reason="false positive")
    for client in _client(tmp_path, plan, db):
        page = client.get("/overview?lang=ko").text
        rows = {i: page[page.index(f'id="incident-{i}"'):page.index("</tr>", page.index(f'id="incident-{i}"'))]
                for i in (late, acked, fresh)}
        assert "API 전체 중단" in rows[late] and "기한 지남" in rows[late]  # an hour unacknowledged
        assert "충족" in rows[acked] and "MariaDB 응답 없음" in rows[acked]
        assert "진행 중" in rows[fresh] and "기한 지남" not in rows[fresh]
        assert f'id="incident-{done}"' not in page  # cancelled: not open
        assert f'<a href="/incidents/{late}?lang=ko">' in rows[late]  # each opens its incident page
    empty = tmp_path / "empty"
    empty.mkdir()
    other = StateDB.open(f"sqlite:///{empty / 'state.db'}")
    for client in _client(empty, _plan(empty), other):
        assert "진행 중인 장애가 없습니다" in client.get("/overview?lang=ko").text
    other.close()
