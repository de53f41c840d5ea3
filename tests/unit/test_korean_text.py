"""Korean text as an operator reads it (/work/shared/KOREAN.md rule 12): every Korean catalogue
message, the Korean status page, Korean notifications (firing and resolved), plan check problems
and --help, rendered, must not carry an English word outside an allowed list: product names,
units, identifiers in parentheses or quotes, and a tool's raw words on their own `상세:` line.

The allowed list is short on purpose: a word on it must be one an operator would search for or
type (a product, a unit, a key of the plan), never a sentence's word left in English."""

from __future__ import annotations

import os
import re
import string
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opsplan.alerts.engine import AlertEngine
from opsplan.cli.main import app
from opsplan.i18n import MESSAGES, particle, t
from opsplan.metrics import CollectorStatus, Cycle, sample
from opsplan.metrics.exposition import LatestSamples
from opsplan.notify.render import render
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from opsplan.web.app import ServeState, create_app

SRC = Path(__file__).resolve().parents[2] / "src"

# Words that stay in Latin letters in Korean text: products and tools (rule 10), the seed's level
# names, units, and words of formats an operator types as they are.
ALLOWED = {
    # products, tools and the parts of them an operator names
    "opsplan", "MariaDB", "mariabackup", "mariadbd", "Prometheus", "Alertmanager", "Grafana", "Git",
    "NVIDIA", "Ada", "RTX", "NVML", "Debian", "systemd", "Ctrl", "cron", "diff", "unified", "binlog",
    "Lynis",
    "llm", "api", "server", "apprise", "Docker", "Xid",
    # the seed's own level names (glossary)
    "Critical", "Warning", "Major", "Minor",
    # units and formats
    "s", "ms", "B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB", "W", "req", "p", "true", "false",
    "null", "KST", "UTC", "ok",
}
# Spans that are not sentence words: `code`, 'quoted', "quoted", (a parenthesised identifier or
# list of them), a raw `상세:` tail, a URL or path, an option, a key (dotted, snake_case, kebab).
_NOT_WORDS = [
    re.compile(r"상세: .*"),
    re.compile(r"\[기본값: [^\]]*\]"),  # a default value, as it is typed
    re.compile(r"`[^`]*`"),
    re.compile(r"'[^']*'"),
    re.compile(r'"[^"]*"'),
    re.compile(r"https?://\S+"),
    re.compile(r"--[a-z][\w-]*"),
    re.compile(r"<[^>]*>"),
    re.compile(r"\([A-Za-z0-9_.,:=~ /+-]*\)"),  # (CpuUsageHigh), (log_bin OFF), (CHECK TABLE, ...)
    re.compile(r"\S*[/._=~\\[]\S*"),  # paths, dotted keys, name=value, list items: allocation[0]
    re.compile(r"\b\w*[_-]\w*\b"),  # snake_case and kebab-case ids
    re.compile(r"(?<![A-Za-z])[A-Z][A-Z0-9]+(?![A-Za-z])"),  # acronyms: GPU, CPU, API, RTO, YAML, JSON
    re.compile(r"(?<![A-Za-z])[A-Za-z]*\d[A-Za-z0-9]*"),  # ids with digits: v3, a1b2c3d, ops01
    re.compile(r"\[/?[a-z ]*\]"),  # rich markup typer prints: [blue]...[/]
    re.compile(r"°C"),
    re.compile(r"\b\d+(?:\.\d+)?[A-Za-z]+\b"),  # the plan's own notation an operator types: 5m, 14d, 128GB
    re.compile(r"(?<![A-Za-z])[A-Za-z]+[a-z][A-Z][A-Za-z]*"),  # CamelCase rule names: CpuUsageHigh
]
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def english_words(text: str) -> list[str]:
    """The Latin-letter words of `text` that a Korean reader would read as English sentence words."""
    found = []
    for line in text.splitlines():
        for pattern in _NOT_WORDS:
            line = pattern.sub(" ", line)
        found += [w for w in _LATIN_WORD.findall(line) if w not in ALLOWED]
    return found


def assert_korean(where: str, text: str) -> None:
    words = english_words(text)
    assert not words, f"{where}: English in Korean text {words}:\n{text}"


# --- the detector itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "실행 2: select_chain 단계 실패: no ok database backup",
    "백업 대상 target database",
    "알림 {x} resolved",
])
def test_the_detector_finds_english_left_in_a_korean_sentence(text: str):
    assert english_words(text)


@pytest.mark.parametrize("text", [
    "CPU 사용률이 높습니다 (CpuUsageHigh)",
    "MariaDB 백업 2개, 672 KB, 5분",
    "`opsplan plan check`로 검증하십시오",
    "파일을 쓸 수 없습니다\n상세: permission denied",
    "monitoring.interval: 기간 형식이 잘못되었습니다: 'abc' (예: 30s, 5m)",
])
def test_the_detector_lets_products_units_and_identifiers_through(text: str):
    assert english_words(text) == []


def test_particles_follow_the_final_sound():
    assert [particle(w, "이") for w in ("MariaDB", "서버", "GPU 0", "llm-api", "1분")] == [
        "MariaDB가", "서버가", "GPU 0이", "llm-api가", "1분이"]
    assert [particle(w, "으로") for w in ("파일", "디렉터리", "1시간", "root")] == [
        "파일로", "디렉터리로", "1시간으로", "root로"]
    assert t("restore.db.restored", "ko", id="12", chain="10-12", datadir="/srv/db") == \
        "백업 12를 /srv/db에 복원했습니다 (체인 10-12)"


# --- every Korean message of the catalogue ---------------------------------------------------------

# A sample for every placeholder name the catalogue uses: what the code puts there in real use.
SAMPLES: dict[str, object] = {
    "tables": 31,
    "url": "http://127.0.0.1:8080/", "reason": "상세: connection refused", "bind": "0.0.0.0", "n": 3,
    "seconds": "2.5초", "model": "llm-7b", "version": "v3", "files": 12, "size": "672 KB", "copied": "1.2 GB",
    "versions": "v1, v2", "ids": "10, 11", "hashed": 4, "sized": 2, "port": 33061, "status": "통과",
    "rto": "4분", "rto_target": "4시간", "rto_met": "목표 충족", "rpo": "1분", "rpo_target": "1시간",
    "rpo_met": "목표 충족", "step": "'복원할 백업 체인 선택' (select_chain)", "phases": "복원 2초, 검증 1초",
    "path": "/var/lib/opsplan/report.md", "checked": 12, "failed": 0, "commit": "a1b2c3d", "full": 10,
    "days": 7, "base": 10, "when": "2026-11-30 10:05:16 KST", "id": 12, "kind": "전체",
    "how": "해시", "count": 2, "names": "mariadb-bin.000012, mariadb-bin.000013", "out": "/etc/prometheus",
    "removed": 1, "severity": "Critical", "headline": "CPU 사용률이 높습니다 (CpuUsageHigh)",
    "host": "ai-server-01", "summary": "CPU 사용률이 높습니다", "alert": "CpuUsageHigh",
    "subject": ", 마운트 지점 /", "value": "95%", "threshold": "90%", "duration": "5분",
    "item": "disk.space", "error": "권한 없음: /var/log/mysql/error.log",  # a check item and why it failed
    "time": "2026-11-30 10:05:16 KST", "channel": "chat-ops", "name": "chat-ops", "known": "chat-ops, mail-oncall",
    "current": "ko", "wanted": "en", "by": "ops01", "at": "2026-11-30 10:05:16", "fingerprint": "d3824c57e3ab1c7c",
    "start": "2026-11-30 10:05:16 KST", "end": "2026-11-30 12:05:16 KST", "title": "데이터베이스 복원",
    "actor": "ops01@ai-server-01", "total": 9, "label": "[2/9] 복원할 백업 체인 선택", "steps": "복원, 검증",
    "datadir": "/var/lib/mysql", "chain": "10-12", "summary_text": "", "until": "2026-11-30 10:00:00 KST",
    "user": "opsplan", "paths": "/var/lib/mysql.previous", "kept": "v1, v2", "lang": "ko", "looked":
    "opsplan.yaml, /etc/opsplan/opsplan.yaml", "section": "monitoring", "shown": 50, "expected": "정수",
    "got": " (입력값: 'abc')", "bound": 1, "pattern": "^[a-z]+$", "close": "interval", "limit": "10년",
    "detail": "permission denied", "groups": "AI 시스템 (ai, GPU 0,1,2)", "services": "llm-api", "allocated": 4,
    "timezone": "Asia/Seoul", "": "5분", "gpu": 3, "group": "ai", "warning": "80", "critical": "90",
    "zone": "Asia/Seol", "first": "allocation[0]", "what": "그룹 ID", "command_path": "opsplan plan",
    "help_option": "--help", "option": "--scrape-interval", "age": "2일", "pid": 4242,
    "variable": "OPS_CHAT_URL", "where": "$OPS_CHAT_URL", "scratch": "/srv/backup/.scratch",
    "directory": "/srv/backup", "service": "database", "code": 5, "command": "systemctl", "last": "no answer",
    "timeout": 60, "matcher": "'alertname'",
    "role": "운영자 (operator)", "roles": "viewer, operator, admin", "least": 12, "most": 1024,
    "scope": "쓰기 (write)",
    # the weekly checks (checks/evaluators/weekly.py)
    "lines": 12345, "templates": 42, "new": 2, "rising": 1, "sources": 3, "source": "mariadb",
    "template": "<TIME> <NUM> [ERROR] InnoDB: page <*> corrupt",
    "example": "<TIME> <NUM> [ERROR] InnoDB: page <NUM> corrupt", "last_week": "210 ms",
    "this_week": "360 ms",
    "change": "71%", "rise": "20%", "compared": 9, "tool": "needrestart", "packages": "libssl3, openssl",
    "running": "6.1.0-18-amd64", "installed": "6.1.0-21-amd64", "driver": "550.54.15", "cuda": "12.4",
    "security": 3, "other": 12,
    # the Metrics page
    "low": "12.5%", "high": "88%", "range": "2h", "choices": "1h, 6h, 24h, 7d, 30d",
    # the Plan page and the Account page (web/console/plan_page.py, web/identity/account.py)
    "cron": "30 2 * * *", "plan_lang": "영어 (English)",
    "stage": 2, "text": "MariaDB 재시작", "deadline": "확인", "due": "2026-11-30 10:20:16 KST",
    "ack": "2026-11-30 10:20:16 KST (충족)", "respond": "2026-11-30 10:20:16 KST (초과)", "country": "KR",
    # the quarterly checks (checks/evaluators/quarterly.py)
    "passed": 9, "warned": 1, "skipped": 2, "check": "OPS-SSH-001", "ports": "0.0.0.0:5432/tcp (postgres)",
    "privileges": "SUPER, GRANT OPTION", "as_of": "2025-08-15", "ended": "2026-06-10", "warnings": 2,
    "suggestions": 31, "previous": 64, "which": "RTO, RPO",
    # the monthly checks (checks/capacity.py, checks/hardware.py, checks/tuning.py)
    "mount": "/srv/ai", "level": "90%", "growth": "10 GB", "date": "2027-01-09", "early": "2026-12-28",
    "late": "2027-01-21", "flagged": 2, "gpus": "3 (app)",
    "longest": "2.5", "rows": 1200, "query": "select * from orders where id = ?",
    # check runs and reports (checks/runs.py, checks/report/, evaluators/daily.py)
    "period": "일일 점검", "peak": "97%", "interface": "eth0", "note": "이상 없음",
    "sha": "9f86d081884c7d65", "cpu": "42%", "memory": "61%",
    # incident checklists, postmortems, figures and SLA (incidents/checklist.py ... sla.py)
    "task": 3, "number": 2, "owner": "ops01", "fields": "--root-cause, --fix",
    "took": "12분", "state": "2026-11-30 10:12:16 KST (기한 2026-11-30 10:30:16 KST 충족)",
    "impact": "로그인 요청 실패",
    "mtta": "25분", "mtta_p90": "40분", "mttr": "2시간 30분", "mttr_p90": "5시간", "month": "2026-11",
    "target": "99.5%", "availability": "99.167%", "downtime": "6시간", "budget": "166.7%",
    # on-call (opsplan.oncall)
    "round": 1,
    # incident assign / re-grade / merge
    "person": "ops02", "into": 7,
    # `opsplan db copy`
    "env": "OPSPLAN_STATE_DB_URL", "table": "incidents",
    # evidence at opening (cli/incident_evidence.py)
    "metric": "opsplan_api_up", "points": 118, "since": "2026-11-30 10:05:16 KST", "connected": 12, "slow": 42,
    "part": "차트", "newest": "0",
    # PDF reports (opsplan.pdf)
    "font": "Noto Sans CJK KR",
}


def _placeholders(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_korean_message_reads_as_korean():
    problems = []
    for key, message in MESSAGES.items():
        names = _placeholders(message.ko)
        missing = names - SAMPLES.keys()
        assert not missing, f"{key}: add a sample for {sorted(missing)} to SAMPLES"
        if "" in names:  # typer's own "[기본값: {}]", filled by position
            text = message.ko.format(SAMPLES[""])
        else:
            text = t(key, "ko", **{n: SAMPLES[n] for n in names}) if names else message.ko
        words = english_words(text)
        if words:
            problems.append(f"{key}: {words}: {text}")
    assert not problems, "\n".join(problems)


def test_korean_messages_use_the_glossary_words():
    # one concept, one word (KOREAN.md rule 4): the words it replaced must not come back
    retired = {"경보": "알림", "무음": "알림 중지", "훈련": "테스트", "시험": "테스트", "해제": "해결",
               "을(를)": "a particle chosen by the value", "자원 할당": "리소스 할당"}
    for key, message in MESSAGES.items():
        for word, instead in retired.items():
            if word == "해제" and "압축 해제" in message.ko:
                continue  # unpacking an archive, not an alert
            assert word not in message.ko, f"{key}: {word!r} -> {instead!r}: {message.ko}"
        assert not re.search(r"\} (을|를|이|가|은|는|에|의|로|으로|과|와|부터|까지)\b", message.ko), \
            f"{key}: a particle is written right after its value (rule 2): {message.ko}"


# --- notifications ---------------------------------------------------------------------------------

class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _cycle(now: float, *, hot: bool) -> Cycle:
    value = 0.99 if hot else 0.10
    return Cycle(now, [sample("opsplan_cpu_usage_ratio", value),
                       sample("opsplan_disk_usage_ratio", value, mountpoint="/"),
                       sample("opsplan_gpu_temperature_celsius", 95.0 if hot else 40.0, gpu="0", group="ai"),
                       sample("opsplan_mariadb_up", 0.0 if hot else 1.0),
                       sample("opsplan_backup_last_status", 0.0 if hot else 1.0, target="database")], 0.1)


@pytest.fixture
def firing_and_resolved(tmp_path):
    """Real rules of a Korean plan through the real engine: what fires on a hot box, then resolves."""
    plan = Plan(language="ko")
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    notices: list = []
    clock = Clock()
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=notices.append,
                         clock=clock, host="ai-server-01")
    for hot in [True] * 40 + [False] * 40:  # ten minutes hot, ten minutes cool, 15 s apart
        engine.on_cycle(_cycle(clock.now, hot=hot))
        clock.now += 15
    yield plan, notices
    db.close()


def test_korean_notifications_read_as_korean_and_a_resolved_one_says_so(firing_and_resolved):
    plan, notices = firing_and_resolved
    kinds = {n.kind for n in notices}
    assert {"firing", "resolved"} <= kinds, kinds
    alerts = {n.alert for n in notices}
    assert len(alerts) >= 4, alerts  # CPU, disk, GPU temperature, MariaDB, backup
    for notice in notices:
        message = render(notice, plan)
        assert_korean(f"{notice.kind} {notice.alert} title", message.title)
        assert_korean(f"{notice.kind} {notice.alert} body", message.body)
        if notice.kind == "resolved":
            assert message.title.startswith("[해결]")
            assert "해결되어 정상 범위로 돌아왔습니다" in message.body
            # the firing summary ("...가 응답하지 않습니다") would say the opposite under [해결]
            assert notice.summary.ko not in message.title + message.body
        else:
            assert notice.summary.ko in message.title  # the rule's summary leads, its name follows
            assert f"({notice.alert}" in message.title


# --- the status page -------------------------------------------------------------------------------

class FixedCycle:
    """The collection loop as the page reads it: one finished cycle."""

    def __init__(self, cycle: Cycle):
        self.last_cycle = cycle
        self.store_error = None


def test_the_korean_status_page_reads_as_korean(tmp_path):
    plan = Plan(language="ko")
    now = 1_800_000_000.0
    samples = [sample("opsplan_cpu_usage_ratio", 0.325), sample("opsplan_memory_usage_ratio", 0.5),
               sample("opsplan_swap_usage_ratio", 0.0), sample("opsplan_disk_usage_ratio", 0.8, mountpoint="/"),
               sample("opsplan_network_up", 1.0, interface="eth0"), sample("opsplan_gpu_count", 4.0),
               sample("opsplan_mariadb_up", 0.0),
               sample("opsplan_mariadb_last_error_info", 1.0, reason="connection refused"),
               sample("opsplan_backup_last_status", 1.0, target="database"),
               sample("opsplan_backup_last_success_timestamp_seconds", now - 3600, target="database"),
               sample("opsplan_backup_last_size_bytes", 672_000.0, target="database"),
               *[sample("opsplan_gpu_utilization_ratio", 0.5, gpu=str(i)) for i in range(4)],
               *[sample("opsplan_gpu_memory_used_bytes", 12e9, gpu=str(i)) for i in range(4)],
               *[sample("opsplan_gpu_memory_total_bytes", 20e9, gpu=str(i)) for i in range(4)],
               *[sample("opsplan_gpu_temperature_celsius", 60.0, gpu=str(i)) for i in range(4)],
               *[sample("opsplan_gpu_power_watts", 90.0, gpu=str(i)) for i in range(4)]]
    cycle = Cycle(now, samples, 0.25, [CollectorStatus("system", True, 0.1),
                                       CollectorStatus("mariadb", False, 0.1, "connection refused")])
    db = StateDB.open(f"sqlite:///{tmp_path / 'page.db'}")
    clock = Clock(now - 600)
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=lambda notice: None,
                         clock=clock, host="ai-server-01")
    while clock.now < now:  # ten minutes of a hot box: its alerts fire
        engine.on_cycle(_cycle(clock.now, hot=True))
        clock.now += 15
    with MetricsStore(tmp_path / "metrics", clock=lambda: now) as store:
        state = ServeState(plan=plan, latest=LatestSamples(metric_registry()), loop=FixedCycle(cycle),
                           store=store, store_lock=threading.Lock(), alerts=engine)
        page = TestClient(create_app(state), base_url="http://127.0.0.1:8080").get("/").text
    db.close()
    assert "CPU 사용률이 높습니다 (CpuUsageHigh)" in page and "32.5%" in page and "672 KB" not in page
    text = re.sub(r"<style.*?</style>|<[^>]+>", "\n", page, flags=re.S)
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    assert_korean("status page", text)


# --- plan check, init, --help ----------------------------------------------------------------------

BROKEN_KOREAN_PLAN = """\
language: ko
monitoring:
  interval: abc
  intervall: 5m
server:
  name: 5
  gpu:
    count: -1
backup:
  database:
    full_schedule: every night
web:
  port: 99999
"""


def test_plan_check_on_a_broken_korean_plan_says_each_problem_in_korean(tmp_path):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text(BROKEN_KOREAN_PLAN, encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert len(lines) >= 4, result.output
    assert any("알 수 없는 키입니다. 'interval' 키를 쓰려던 것인지 확인하십시오" in line for line in lines)
    for line in lines:
        where, _, reason = line.partition(": ")  # file:line, then key: reason
        assert_korean("plan check", reason.split(": ", 1)[-1])


def test_init_in_korean_says_what_it_wrote_in_korean(tmp_path):
    target = tmp_path / "opsplan.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(target), "--lang", "ko"])
    assert result.exit_code == 0 and "파일을 썼습니다" in result.output
    assert_korean("init", result.output.replace(str(target), "opsplan.yaml"))
    result = runner.invoke(app, ["plan", "check", str(target)])
    assert result.exit_code == 0 and result.output.splitlines()[0].endswith(": 정상"), result.output
    assert_korean("plan check ok", result.output.replace(str(target), "opsplan.yaml"))


def _opsplan(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsplan", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200", **env}, cwd=cwd, check=False)


HELP_PAGES = [[], ["plan"], ["plan", "check"], ["init"], ["backup"], ["backup", "db"], ["restore", "db"],
              ["drill", "db"], ["alerts"], ["alerts", "silence"], ["runbook"], ["notify"], ["export"], ["serve"]]


@pytest.mark.parametrize("how", ["env", "plan"])
def test_help_is_korean_with_a_korean_plan_or_opsplan_lang(tmp_path, how):
    if how == "plan":  # the plan in the working directory names the language
        (tmp_path / "opsplan.yaml").write_text("language: ko\n", encoding="utf-8")
        env = {"OPSPLAN_LANG": ""}
    else:
        env = {"OPSPLAN_LANG": "ko"}
    for page in HELP_PAGES:
        result = _opsplan(*page, "--help", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "사용법:" in result.stdout and "이 도움말을 출력하고 종료합니다" in result.stdout, page
        body = re.sub(r"[│╭╮╰╯─]", " ", result.stdout)
        # The usage line and the first columns (command and option names, value types) are syntax:
        # what is read is each row's description, the last column.
        body = "\n".join(re.split(r"\s{2,}", line.strip())[-1] for line in body.splitlines()
                         if "사용법:" not in line)
        assert_korean(f"opsplan {' '.join(page)} --help", body)
    english = _opsplan("--help", env={"OPSPLAN_LANG": "en"}, cwd=tmp_path)
    assert "Usage:" in english.stdout and "Runs the AI server's operations plan" in english.stdout


def test_a_broken_korean_plan_checked_in_a_subprocess_prints_korean(tmp_path):
    (tmp_path / "opsplan.yaml").write_text(BROKEN_KOREAN_PLAN, encoding="utf-8")
    result = _opsplan("plan", "check", env={"OPSPLAN_LANG": ""}, cwd=tmp_path)
    assert result.returncode == 2
    assert "opsplan.yaml:4: monitoring.intervall: 알 수 없는 키입니다" in result.stderr
    assert "unknown key" not in result.stderr


# --- how the command line chooses its language -----------------------------------------------------

def test_the_command_line_language_comes_from_opsplan_lang_then_the_plan_then_english(tmp_path):
    from opsplan.cli.language import DEFAULT_PLAN_PATHS, choose_language
    from opsplan.plan.loader import DEFAULT_LOCATIONS

    assert DEFAULT_PLAN_PATHS == DEFAULT_LOCATIONS  # the cheap read looks where the loader looks
    korean, english, unset = tmp_path / "ko.yaml", tmp_path / "en.yaml", tmp_path / "unset.yaml"
    korean.write_text("# 운영 계획서\nversion: 1\nlanguage: 'ko'  # 한국어\n", encoding="utf-8")
    english.write_text("language: en\n", encoding="utf-8")
    unset.write_text("version: 1\nnotifications:\n  language: ko\n", encoding="utf-8")  # not top-level
    assert choose_language([], {"OPSPLAN_LANG": "KO"}, candidates=[english]) == "ko"
    assert choose_language(["--plan", str(korean), "plan", "check"], {}, candidates=[english]) == "ko"
    assert choose_language([f"--plan={english}"], {}, candidates=[korean]) == "en"
    assert choose_language([], {}, candidates=[tmp_path / "missing.yaml", korean]) == "ko"
    assert choose_language([], {}, candidates=[unset]) == "en"
    assert choose_language([], {"OPSPLAN_LANG": "fr"}, candidates=[]) == "en"
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert choose_language(["--plan", str(fifo)], {}, candidates=[]) == "en"  # returns: never waits for a writer


def test_a_korean_drill_report_reads_as_korean():
    from opsplan.runbooks.drill.report import render as render_report

    result = {"status": "failed", "started_at": 1_800_000_000.0, "backup_ids": [10, 11],
              "binlogs_replayed": ["mariadb-bin.000012"], "restorable_point": 1_799_999_000.0,
              "rpo_seconds": 60.0, "rto_seconds": 300.0, "time_to_service_seconds": 240.0,
              "targets": {"rpo_seconds": 3600.0, "rto_seconds": 14400.0}, "rpo_met": True, "rto_met": True,
              "failed_step": "'정합성 검증 (CHECK TABLE, 행 수, 체크섬)' (verify)",
              "reason": t("reason.chain_without_full", "ko", id=11),
              "phases": {"hashes": 1.0, "unpack": 2.5, "prepare": 3.0, "copy_back": 1.0, "start": 2.0,
                         "replay": None, "verify": 4.0},
              "tables": [{"name": "shop.orders", "ok": False, "check_status": "OK", "rows_actual": 9,
                          "rows_expected": 10, "checksum_actual": 1, "checksum_expected": 2,
                          "problems": ["행 수 불일치"]}]}
    text = render_report(Plan(language="ko"), result)
    assert "- RTO: 5분 (목표 4시간, 목표 충족)" in text and "| 압축 해제 | 2.5 |" in text
    assert_korean("drill report", text.replace("**", ""))


def test_the_korean_alert_list_reads_as_korean(tmp_path):
    from opsplan.stages.all import load_plan
    from opsplan.store.state import default_url
    from yaml_writer import write_plan

    path = write_plan(tmp_path, {"language": "ko"})
    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    clock = Clock()
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=lambda notice: None,
                         clock=clock, host="ai-server-01")
    for _ in range(40):
        engine.on_cycle(_cycle(clock.now, hot=True))
        clock.now += 15
    db.close()
    result = CliRunner().invoke(app, ["--plan", str(path), "alerts", "list"])
    assert result.exit_code == 0, result.output
    # subjects in Korean words, the group's name before its id; times with their zone
    assert "마운트 지점 /" in result.output and "GPU 0 그룹 AI 시스템 (ai)" in result.output and " KST" in result.output
    assert_korean("alerts list", result.output)


def test_a_failed_korean_runbook_names_its_step_and_reason_in_korean(tmp_path):
    """The issue's `실행 2: select_chain 단계 실패 ... no ok database backup`: the step by its title with
    its id after it, the reason from the catalogue."""
    import io

    from rich.console import Console

    from opsplan.errors import RunbookError, said
    from opsplan.plan.models import Text
    from opsplan.runbooks.engine import RunbookEngine
    from opsplan.runbooks.model import Runbook, Step, StepResult

    def choose(ctx):
        raise said(RunbookError, "reason.no_backup_to_restore")

    steps = [Step("check_plan", Text(ko="운영 계획서 확인", en="Check the plan"), lambda ctx: StepResult(True)),
             Step("select_chain", Text(ko="복원할 백업 체인 선택", en="Choose the backup chain"), choose)]
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    shown = io.StringIO()
    engine = RunbookEngine(Plan(language="ko", data_dir=str(tmp_path)), db, clock=Clock(), actor="ops01@ai-server-01",
                           console=Console(file=shown, force_terminal=False, width=200))
    outcome = engine.run(Runbook(kind="restore-db", title=Text(ko="데이터베이스 복원", en="Database restore"),
                                 steps=steps), {})
    db.close()
    text = shown.getvalue()
    assert outcome.status == "rolled_back" and outcome.failed_step == "select_chain"
    assert "'복원할 백업 체인 선택' (select_chain) 단계 실패" in text
    assert "카탈로그에 복원할 성공한 데이터베이스 백업이 없습니다" in text and "no ok database backup" not in text
    assert_korean("runbook output", text)
