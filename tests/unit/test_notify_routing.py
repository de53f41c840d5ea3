"""Routing, quiet hours, rendering and the plan's channel checks (no network)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from opsplan.alerts.events import AlertNotice
from opsplan.errors import PlanError
from opsplan.notify.plan_checks import notification_problems
from opsplan.notify.render import render
from opsplan.notify.routing import due_at, parse_quiet_hours, route
from opsplan.plan.models import Channel, Plan, Text
from opsplan.plan.semantic import CheckContext
from opsplan.stages.all import parse_plan

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(hour: int, minute: int = 0, day: int = 27) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=SEOUL).timestamp()


def notice(severity: str = "critical", kind: str = "firing", **extra: object) -> AlertNotice:
    values: dict = dict(kind=kind, fingerprint=f"CpuUsageHigh-{severity}", alert="CpuUsageHigh", severity=severity,
                        labels={"alert": "CpuUsageHigh", "severity": severity}, subject="",
                        summary=Text(ko="CPU 사용률 높음", en="CPU usage high"),
                        description=Text(ko="CPU 사용률 95%가 임계값 90%를 넘었습니다",
                                         en="CPU usage 95% is above 90%"),
                        value=95.0, threshold=90.0, for_s=300.0, started_at=seoul(14, 3),
                        annotations={"unit": "%"})
    values.update(extra)
    return AlertNotice(**values)


CHANNELS = [Channel(name="chat", url_env="A"), Channel(name="mail", url_env="B", kind="email"),
            Channel(name="hook", url_env="C", kind="webhook", severities=["critical", "warning"]),
            Channel(name="quiet-chat", url_env="D", severities=["critical"])]


def test_critical_goes_to_every_channel_taking_criticals_and_warning_to_chat_and_listed():
    assert [c.name for c in route(notice("critical"), CHANNELS)] == ["chat", "mail", "hook", "quiet-chat"]
    # An e-mail channel takes criticals only unless it lists warning; a chat one takes both.
    assert [c.name for c in route(notice("warning"), CHANNELS)] == ["chat", "hook"]


def test_quiet_hours_wrap_midnight_in_the_plans_timezone():
    quiet = parse_quiet_hours("22:00-08:00", "Asia/Seoul")
    assert quiet.end_if_quiet(seoul(21, 59)) is None
    assert quiet.end_if_quiet(seoul(23, 30)) == seoul(8, 0, day=28)
    assert quiet.end_if_quiet(seoul(3, 0, day=28)) == seoul(8, 0, day=28)
    assert quiet.end_if_quiet(seoul(8, 0)) is None
    day = parse_quiet_hours("12:00-13:00", "Asia/Seoul")
    assert day.end_if_quiet(seoul(12, 30)) == seoul(13, 0)


def test_quiet_hours_defer_a_warning_but_not_a_critical():
    quiet = parse_quiet_hours("22:00-08:00", "Asia/Seoul")
    night = seoul(23, 0)
    assert due_at(notice("warning"), night, quiet) == seoul(8, 0, day=28)
    assert due_at(notice("critical"), night, quiet) == night
    assert due_at(notice("warning"), seoul(14, 0), quiet) == seoul(14, 0)


@pytest.mark.parametrize("text", ["22-08", "25:00-08:00", "22:00-22:00", "10pm-8am"])
def test_bad_quiet_hours_are_a_one_line_plan_error(text: str):
    with pytest.raises(PlanError) as caught:
        parse_plan(f"notifications:\n  quiet_hours: '{text}'\n")
    line = str(caught.value)
    assert "\n" not in line and "notifications.quiet_hours: quiet hours" in line and text in line


def test_korean_message_has_value_threshold_duration_host_start_and_console():
    plan = Plan.model_validate({"language": "ko", "web": {"bind": "0.0.0.0", "port": 9090}})
    message = render(notice("critical"), plan)
    # the rule's summary leads, its name follows in parentheses (KOREAN.md rule 5)
    assert message.title == "[Critical] ai-server-01: CPU 사용률 높음 (CpuUsageHigh)"
    for expected in ("CPU 사용률 높음", "현재 값: 95%", "임계값: 90%", "지속 조건: 5분 이상",
                     "호스트: ai-server-01", "시작: 2026-11-27 14:03:00 KST", "콘솔: http://0.0.0.0:9090/"):
        assert expected in message.body, expected
    assert message.notify_type == "failure"


def test_korean_resolved_message_says_it_is_resolved_not_the_firing_text():
    plan = Plan.model_validate({"language": "ko"})
    gone = notice("critical", kind="resolved", resolved_at=seoul(14, 20), subject="mountpoint /",
                  subject_ko="마운트 지점 /", value=70.0)
    message = render(gone, plan)
    assert message.title == "[해결] ai-server-01: 알림 해결: CpuUsageHigh, 마운트 지점 /"
    assert "CpuUsageHigh 알림이 해결되어 정상 범위로 돌아왔습니다." in message.body
    assert "CPU 사용률 높음" not in message.title + message.body  # the firing text would say the opposite
    assert "마지막 값: 70%" in message.body and "해결: 2026-11-27 14:20:00 KST" in message.body


def test_english_resolved_message_and_public_url():
    plan = Plan.model_validate({"language": "en", "web": {"public_url": "https://ops.example.com/"}})
    gone = notice("warning", kind="resolved", resolved_at=seoul(14, 20), subject="disk /",
                  labels={"host": "gpu-box"}, value=70.0)
    message = render(gone, plan)
    assert message.title == "[RESOLVED] CpuUsageHigh disk / (gpu-box)"
    assert "Last value: 70%" in message.body and "Resolved: 2026-11-27 14:20:00 KST" in message.body
    assert "Console: https://ops.example.com/" in message.body
    assert message.notify_type == "success"


TOKEN = "xoxb-FAKE0TOKEN0123456789"


def test_a_malformed_channel_url_is_a_one_line_plan_error_without_the_url(monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", f"tgram://{TOKEN}/")  # not a bot token: apprise refuses it
    yaml = "notifications:\n  channels:\n    - name: ops-chat\n      url_env: OPS_CHAT_URL\n"
    with pytest.raises(PlanError) as caught:
        parse_plan(yaml, "opsplan.yaml")
    line = str(caught.value)
    assert line.startswith("opsplan.yaml:3: notifications.channels[0]: channel 'ops-chat': apprise does not accept")
    assert "$OPS_CHAT_URL" in line
    assert TOKEN not in line and "tgram:" not in line and "\n" not in line


def test_a_good_url_passes_and_an_unset_variable_fails_only_the_strict_check(monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_HOOK_URL", f"json://127.0.0.1:9/hook?token={TOKEN}")
    monkeypatch.delenv("OPS_CHAT_URL", raising=False)
    yaml = ("notifications:\n  channels:\n    - {name: hook, url_env: OPS_HOOK_URL, kind: webhook}\n"
            "    - {name: chat, url_env: OPS_CHAT_URL}\n")
    plan = parse_plan(yaml)  # what `serve` loads: an unset variable does not stop it
    environ = {"OPS_HOOK_URL": f"json://127.0.0.1:9/x?t={TOKEN}"}
    problems = list(notification_problems(plan, CheckContext(environ, strict=True)))
    assert [(p.loc, p.message) for p in problems] == [
        (("notifications", "channels", 1), "channel 'chat': environment variable OPS_CHAT_URL is not set")]
    assert problems[0].ko == "채널 'chat': 환경 변수 OPS_CHAT_URL이 설정되어 있지 않습니다"


def test_a_url_file_readable_by_others_fails_the_strict_check_without_its_content(tmp_path):
    secret = tmp_path / "chat.url"
    secret.write_text(f"json://127.0.0.1:9/x?t={TOKEN}\n")
    secret.chmod(0o644)
    plan = Plan.model_validate({"notifications": {"channels": [{"name": "chat", "url_file": str(secret)}]}})
    [problem] = notification_problems(plan, CheckContext({}, strict=True))
    assert "mode 0644" in problem.message and TOKEN not in problem.message
    assert list(notification_problems(plan, CheckContext({}, strict=False))) == []
