"""The default plan is the seed (operations-plan.ko.md), value for value, and `opsplan init` writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsplan.cli.main import app
from opsplan.plan.models import Plan
from opsplan.plan.template import template_text
from opsplan.stages.all import load_plan, parse_plan

GB, TB = 10**9, 10**12
HOUR, DAY = 3600.0, 86400.0


def ko(texts):
    return [t.ko for t in texts]


def en(texts):
    return [t.en for t in texts]


def test_hardware_is_seed_1_1():
    server = Plan().server
    assert server.cpu == "Intel Xeon Scalable"
    assert (server.gpu.model, server.gpu.count) == ("NVIDIA RTX 4000 Ada", 4)
    assert server.memory == 256 * GB
    assert (server.storage.size, server.storage.type) == (4 * TB, "NVMe SSD")
    assert server.network_gbps == 10


def test_allocation_is_seed_1_2():
    plan = Plan()
    ai, app_db = plan.allocation
    assert (ai.name.ko, ai.name.en, ai.gpus, ai.memory, ai.storage) == ("AI 시스템", "AI system", [0, 1, 2],
                                                                        128 * GB, 2 * TB)
    assert ko(ai.purposes) == ["LLM 추론", "벡터 검색", "모델 학습"]
    assert en(ai.purposes) == ["LLM inference", "Vector search", "Model training"]
    assert (app_db.name.ko, app_db.name.en, app_db.gpus, app_db.memory, app_db.storage) == (
        "애플리케이션/DB", "Application/DB", [3], 128 * GB, 2 * TB)
    assert ko(app_db.purposes) == ["API 서버", "데이터베이스", "캐시/검색엔진"]
    assert plan.expected_gpus() == [0, 1, 2, 3]
    assert [plan.group_of_gpu(i) for i in range(5)] == [ai.id, ai.id, ai.id, app_db.id, None]


def test_checks_are_seed_2():
    checks = Plan().checks
    assert ko(checks.daily.items) == [
        "CPU/메모리/디스크 사용률", "GPU 상태 및 사용률", "네트워크 상태",
        "API 응답시간", "에러율", "사용자 세션",
        "MariaDB 상태", "백업 상태", "디스크 공간"]
    assert en(checks.daily.items)[:3] == ["CPU/memory/disk usage", "GPU status and usage", "Network status"]
    assert ko(checks.weekly.items) == ["로그 분석", "성능 트렌드 분석", "보안 패치 적용"]
    assert ko(checks.monthly.items) == ["시스템 전반 점검", "성능 최적화", "용량 계획 수립"]
    assert ko(checks.quarterly.items) == ["대규모 업데이트", "보안 감사", "백업 복구 테스트"]


def test_alert_thresholds_are_seed_3_2():
    alerts = Plan().monitoring.alerts
    for rule in (alerts.cpu, alerts.memory, alerts.disk):
        assert (rule.critical, rule.warning) == (90, 80)
    assert alerts.api_error_rate.critical == 1
    assert alerts.api_response_time.warning == 2.0


def test_backup_is_seed_4_1():
    backup = Plan().backup
    assert backup.database.tool == "mariabackup"
    assert backup.database.schedule == "0 2 * * *"  # daily 02:00
    assert backup.database.retention == 30 * DAY
    assert backup.database.method == "incremental"
    assert (backup.models.schedule, backup.models.keep_versions, backup.models.method) == ("on_change", 5, "full")
    assert (backup.config.schedule, backup.config.retention, backup.config.method) == (
        "on_change", "forever", "git")


def test_recovery_steps_are_seed_4_2():
    recovery = Plan().recovery
    assert ko(recovery.database.steps) == ["서비스 중지", "백업 복원", "정합성 검증", "서비스 재시작"]
    assert en(recovery.database.steps) == ["Stop the service", "Restore the backup", "Verify consistency",
                                           "Restart the service"]
    assert ko(recovery.model.steps) == ["이전 버전 복원", "모델 검증", "성능 테스트", "서비스 적용"]
    assert en(recovery.model.steps) == ["Restore the previous version", "Validate the model",
                                        "Performance test", "Put into service"]


def test_incidents_are_seed_5():
    incidents = Plan().incidents
    severities = incidents.severities
    assert (severities["critical"].response, severities["critical"].around_the_clock) == (0, True)
    assert severities["major"].response == 2 * HOUR
    assert severities["minor"].response == 4 * HOUR
    assert ko(severities["critical"].examples) == ["서비스 완전 중단", "데이터 손실/유출", "보안 사고"]
    assert ko(severities["major"].examples) == ["주요 기능 장애", "성능 심각 저하", "부분 서비스 중단"]
    assert ko(severities["minor"].examples) == ["일부 기능 장애", "경미한 성능 저하"]
    assert [s.name.ko for s in incidents.stages] == ["초기 대응", "원인 분석", "복구 실행"]
    assert ko(incidents.stages[0].tasks) == ["장애 상황 파악", "임시 조치 적용", "이해관계자 통보"]
    assert ko(incidents.stages[1].tasks) == ["로그 분석", "영향도 평가", "해결 방안 수립"]
    assert ko(incidents.stages[2].tasks) == ["해결 방안 적용", "정상화 확인", "모니터링 강화"]


def test_timezone_and_language_are_the_teams():
    plan = Plan()
    assert (plan.timezone, plan.language) == ("Asia/Seoul", "ko")


@pytest.mark.parametrize("language", ["ko", "en"])
def test_each_template_is_exactly_the_default_plan(language):
    plan = parse_plan(template_text(language), f"default.{language}.yaml")
    assert plan.language == language
    assert plan == Plan(language=language)


def test_templates_cite_the_seed_in_their_own_language():
    assert "# 시드 §3.2" in template_text("ko")
    assert "# seed §3.2" in template_text("en")
    assert "seed §" not in template_text("ko")


@pytest.mark.parametrize("language", ["ko", "en"])
def test_init_writes_the_template_and_it_checks_ok(language, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--lang", language])
    assert result.exit_code == 0, result.output
    written = Path("opsplan.yaml").read_text(encoding="utf-8")
    assert written == template_text(language)
    assert load_plan(Path("opsplan.yaml")).language == language
    result = runner.invoke(app, ["plan", "check"])
    assert result.exit_code == 0, result.output
    # plan check speaks the language the plan names
    assert result.output.splitlines() == {
        "en": ["opsplan.yaml: ok",
               "  groups: 2: ai (GPU 0,1,2), app (GPU 3)",
               "  GPUs: 4 of 4 allocated (NVIDIA RTX 4000 Ada)",
               "  services: 1: llm-api"],
        "ko": ["opsplan.yaml: 정상",
               "  할당 그룹 2개: AI 시스템 (ai, GPU 0,1,2), 애플리케이션/DB (app, GPU 3)",
               "  GPU 4개 중 4개 할당 (NVIDIA RTX 4000 Ada)",
               "  서비스 1개: llm-api"],
    }[language]


def test_init_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "opsplan.yaml"
    target.write_text("# mine\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 1
    # init writes a Korean plan unless told --lang en, and says so in Korean
    assert result.output.splitlines() == [f"{target}: 파일이 이미 있습니다 (덮어쓰려면 --force)"]
    result = runner.invoke(app, ["init", str(target), "--lang", "en"])
    assert result.output.splitlines() == [f"{target}: already exists (use --force to overwrite)"]
    assert target.read_text(encoding="utf-8") == "# mine\n"
    result = runner.invoke(app, ["init", str(target), "--lang", "en", "--force"])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == template_text("en")


def test_init_writes_where_the_global_plan_option_points(tmp_path):
    target = tmp_path / "etc" / "opsplan" / "opsplan.yaml"
    result = CliRunner().invoke(app, ["--plan", str(target), "init"])
    assert result.exit_code == 0, result.output
    assert load_plan(target) == Plan()


def test_show_prints_the_effective_plan_in_human_units(tmp_path):
    plan_file = tmp_path / "opsplan.yaml"
    plan_file.write_text("monitoring:\n  interval: 30s\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["plan", "show", "--json", str(plan_file)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["monitoring"]["interval"] == "30s"
    assert data["monitoring"]["alerts"]["cpu"] == {"critical": 90.0, "warning": 80.0, "for": "5m"}
    assert data["backup"]["database"]["retention"] == "30d"
    assert data["server"]["memory"] == "256GB"
    assert Plan.model_validate(data) == Plan(monitoring={"interval": 30})
    result = runner.invoke(app, ["--plan", str(plan_file), "plan", "show"])
    assert result.exit_code == 0, result.output
    # The YAML form is itself a valid plan that says the same thing.
    assert parse_plan(result.output) == Plan(monitoring={"interval": 30})
