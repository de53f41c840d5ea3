"""`opsplan oncall ...`, `opsplan maintenance ...` and `opsplan incident snooze` on a plan file and
its state database (the tables' writes on SQLite, PostgreSQL and MariaDB): who is on call (an
override in force), the iCalendar export parsed back, one-line errors, every change audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from opsplan.cli import incident_cmd, oncall_cmd
from opsplan.oncall.ical import fold
from seoul_time import at
from state_engines import STATE_URL_ENV
from yaml_writer import write_plan

ONCALL = {"people": [{"name": "kim", "channels": ["ops-chat"]}, {"name": "lee", "channels": ["ops-chat"]},
                     {"name": "박지민", "channels": ["ops-chat"]}],
          "rotation": {"people": ["kim", "lee", "박지민"], "start": "2026-11-30"}}
CHANNELS = {"channels": [{"name": "ops-chat", "url_env": "OPS_CHAT_URL"}]}


@pytest.fixture
def clock(monkeypatch):
    now = [at("2026-12-02 15:00")]  # a Wednesday, kim's week
    monkeypatch.setattr(oncall_cmd, "_clock", lambda: now[0])
    monkeypatch.setattr(incident_cmd, "_clock", lambda: now[0])
    return now


def plan(tmp_path, language="ko", url_env=None):
    on_server = {"state_db_url_env": url_env} if url_env else {}  # the engine_state_url database
    return write_plan(tmp_path, {"language": language, "oncall": ONCALL, "notifications": CHANNELS, **on_server})


def run(path, *args):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), *args])


def test_show_names_the_primary_and_secondary_and_an_override_takes_the_primary_shift(tmp_path, clock,
                                                                                     engine_state_url):
    path = plan(tmp_path, url_env=STATE_URL_ENV)
    shown = run(path, "oncall", "show")
    assert shown.exit_code == 0, shown.output
    assert "1차 당직자: kim" in shown.output and "2차 당직자: lee" in shown.output
    assert "2026-11-30 09:00:00 KST ~ 2026-12-07 09:00:00 KST" in shown.output
    next_week = json.loads(run(path, "oncall", "show", "--at", "2026-12-08 10:00", "--json").output)
    assert (next_week["primary"], next_week["secondary"]) == ("lee", "박지민")

    added = run(path, "oncall", "override", "박지민", "--from", "2026-12-02 18:00", "--to", "2026-12-03 09:00",
                "--by", "kim")
    assert added.exit_code == 0, added.output
    night = json.loads(run(path, "oncall", "show", "--at", "2026-12-02 23:00", "--json").output)
    assert (night["primary"], night["secondary"], night["override"]) == ("박지민", "lee", "박지민")
    morning = json.loads(run(path, "oncall", "show", "--at", "2026-12-03 09:00", "--json").output)
    assert morning["primary"] == "kim" and morning["override"] is None
    audit = json.loads(run(path, "audit", "list", "--json").output)
    assert any(e["action"] == "oncall.override" and e["actor"] == "kim" for e in audit["entries"])


def test_bad_input_is_one_line_in_the_plans_language(tmp_path, clock):
    path = plan(tmp_path, "en")
    unknown = run(path, "oncall", "override", "choi", "--from", "2026-12-02 18:00", "--to", "2026-12-03 09:00")
    assert unknown.exit_code == 1 and "choi is not in the plan's `oncall.people`" in unknown.output
    backwards = run(path, "oncall", "override", "kim", "--from", "2026-12-03 18:00", "--to", "2026-12-03 09:00")
    assert backwards.exit_code == 1 and "the end must be after the start" in backwards.output
    garbled = run(path, "maintenance", "add", "--subject", "*", "--from", "tomorrow", "--to", "2026-12-03 09:00")
    assert garbled.exit_code == 1 and "not a time: tomorrow" in garbled.output
    for output in (unknown.output, backwards.output, garbled.output):
        assert len(output.strip().splitlines()) == 1 and "Traceback" not in output


def unfold(text: str) -> list[str]:
    """RFC 5545 §3.1: lines end in CRLF; a line starting with a space continues the previous one."""
    assert text.endswith("\r\n")
    lines: list[str] = []
    for raw in text[:-2].split("\r\n"):
        assert len(raw.encode("utf-8")) <= 75, raw
        if raw.startswith(" "):
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    return lines


def events(lines: list[str]) -> list[dict[str, str]]:
    found, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            found.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value.replace("\\,", ",").replace("\\;", ";").replace("\\n", "\n").replace("\\\\", "\\")
    return found


LONG_NAME = "박지민, 야간; 대기 담당 " + "가" * 30  # commas and semicolons to escape, a line to fold


def test_the_ical_export_parses_back_to_the_rotation(tmp_path, clock):
    path = write_plan(tmp_path, {"language": "ko", "notifications": CHANNELS, "oncall": {
        **ONCALL, "people": [*ONCALL["people"][:2], {"name": LONG_NAME, "channels": ["ops-chat"]}],
        "rotation": {"people": ["kim", "lee", LONG_NAME], "start": "2026-11-30"}}})
    exported = run(path, "oncall", "ical", "--weeks", "4")
    assert exported.exit_code == 0, exported.output
    lines = unfold(exported.stdout_bytes.decode("utf-8"))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR" and "VERSION:2.0" in lines
    shifts = events(lines)
    assert len(shifts) == 4 and len({s["UID"] for s in shifts}) == 4
    assert [s["SUMMARY"] for s in shifts[:3]] == ["당직: kim", "당직: lee", f"당직: {LONG_NAME}"]
    starts = [datetime.strptime(s["DTSTART"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp() for s in shifts]
    assert starts[0] == at("2026-11-30 09:00") and starts[1] == at("2026-12-07 09:00")
    assert shifts[0]["DTEND"] == shifts[1]["DTSTART"]


def test_folding_never_splits_a_korean_character():
    line = "SUMMARY:" + "당직" * 40
    folded = fold(line)
    for part in folded.split("\r\n"):
        assert len(part.encode("utf-8")) <= 75
        part.encode("utf-8").decode("utf-8")
    assert folded.replace("\r\n ", "") == line


def test_maintenance_windows_are_listed_and_snooze_needs_an_acknowledged_incident(tmp_path, clock,
                                                                                  engine_state_url):
    path = plan(tmp_path, "en", url_env=STATE_URL_ENV)
    added = run(path, "maintenance", "add", "--subject", "llm-api", "--subject", "ApiDown", "--from",
                "2026-12-02 18:00", "--to", "2026-12-02 20:00", "--reason", "driver upgrade", "--by", "kim")
    assert added.exit_code == 0, added.output
    listed = json.loads(run(path, "maintenance", "list", "--json").output)["windows"]
    assert listed[0]["subjects"] == ["llm-api", "ApiDown"] and listed[0]["end"] == at("2026-12-02 20:00")
    assert "driver upgrade" in run(path, "maintenance", "list").output

    opened = json.loads(run(path, "incident", "open", "--severity", "major", "--title", "GPU lost", "--json").output)
    refused = run(path, "incident", "snooze", str(opened["id"]), "2h")
    assert refused.exit_code == 1 and "is not acknowledged" in refused.output
    assert run(path, "incident", "ack", str(opened["id"]), "--by", "kim").exit_code == 0
    snoozed = run(path, "incident", "snooze", str(opened["id"]), "2h", "--by", "kim")
    assert snoozed.exit_code == 0, snoozed.output
    assert "no re-page until 2026-12-02 17:00:00 KST" in snoozed.output
    shown = run(path, "incident", "show", str(opened["id"]))
    assert "re-paging snoozed until 2026-12-02 17:00:00 KST" in shown.output
    bad = run(path, "incident", "snooze", str(opened["id"]), "soon")
    assert bad.exit_code == 1 and "not a duration: soon" in bad.output


def test_show_lists_the_overrides_of_the_next_days(tmp_path, clock, engine_state_url):
    path = plan(tmp_path, url_env=STATE_URL_ENV)
    # next week's swap (within 14 days) and one a month away (beyond them)
    run(path, "oncall", "override", "박지민", "--from", "2026-12-08 09:00", "--to", "2026-12-10 09:00", "--by", "lee")
    run(path, "oncall", "override", "kim", "--from", "2027-01-05 09:00", "--to", "2027-01-06 09:00", "--by", "lee")
    shown = run(path, "oncall", "show")
    assert shown.exit_code == 0, shown.output
    assert "앞으로 14일 동안의 교대 조정:" in shown.output
    assert "2026-12-08 09:00:00 KST ~ 2026-12-10 09:00:00 KST: 박지민 (등록: lee)" in shown.output
    assert "2027-01-05" not in shown.output
    month = json.loads(run(path, "oncall", "show", "--days", "40", "--json").output)
    assert [(o["person"], o["start_local"][:16]) for o in month["upcoming_overrides"]] == [
        ("박지민", "2026-12-08T09:00"), ("kim", "2027-01-05T09:00")]
    english = run(plan(tmp_path, "en", url_env=STATE_URL_ENV), "oncall", "show", "--days", "3")
    assert "No overrides in the next 3 days." in english.output
