"""`opsplan alerts ...` on a plan file and its state database, without serve running."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from opsplan.alerts.engine import AlertEngine
from opsplan.metrics import Cycle, sample
from opsplan.rules.model import build_rules
from opsplan.stages.all import load_plan, metric_registry
from opsplan.store.state import StateDB, default_url, state_url
from state_engines import STATE_URL_ENV
from yaml_writer import write_plan


def fired_plan(tmp_path, language="en", url_env=None):
    """A plan whose state DB has a memory alert firing; in data_dir, or at the URL in `url_env`."""
    path = write_plan(tmp_path, {"language": language, "state_db_url_env": url_env})
    plan = load_plan(path)
    db = StateDB.open(state_url(plan.data_dir, plan.state_db_url_env, os.environ))
    now = [1_800_000_000.0]
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=lambda n: None,
                         clock=lambda: now[0], host="h")
    for _ in range(23):
        engine.on_cycle(Cycle(now[0], [sample("opsplan_memory_usage_ratio", 0.93)], 0.1))
        now[0] += 15
    db.close()
    return path


def run(path, *args):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), "alerts", *args])


def test_list_json_ack_and_silence_round_trip(tmp_path, engine_state_url):
    path = fired_plan(tmp_path, url_env=STATE_URL_ENV)  # the URL as an operator sets it
    listed = run(path, "list", "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.output)
    assert data["count"] == 2 and data["timezone"] == "Asia/Seoul"
    critical = data["groups"][0]["alerts"][0]
    assert (critical["alert"], critical["severity"], critical["state"]) == ("MemoryUsageHigh", "critical", "firing")
    assert critical["started_at_local"].endswith("+09:00")

    acked = run(path, "ack", critical["fingerprint"], "--by", "kim", "--comment", "restarting llm")
    assert acked.exit_code == 0 and "acknowledged by kim" in acked.output
    again = json.loads(run(path, "list", "--json").output)["groups"][0]["alerts"][0]
    assert again["acknowledged"]["by"] == "kim" and again["acknowledged"]["comment"] == "restarting llm"

    added = run(path, "silence", "--match", "alertname=MemoryUsageHigh", "--match", "severity=~crit.*",
                "--duration", "2h", "--author", "lee", "--comment", "maintenance", "--json")
    assert added.exit_code == 0, added.output
    silence_id = json.loads(added.output)["id"]
    shown = json.loads(run(path, "silences", "--json").output)
    assert [(s["id"], s["matchers"]) for s in shown] == [(silence_id, ["alertname=MemoryUsageHigh",
                                                                       "severity=~crit.*"])]
    assert run(path, "unsilence", silence_id).exit_code == 0
    assert json.loads(run(path, "silences", "--json").output) == []


def test_human_output_is_in_the_plans_language(tmp_path):
    path = fired_plan(tmp_path, language="ko")
    result = run(path, "list")
    assert result.exit_code == 0
    # Korean writes a whole number without its .0
    assert "호스트 전체" in result.output and "Critical 알림에 가려짐" in result.output and "| 93% |" in result.output


def test_bad_input_is_one_line_and_changes_nothing(tmp_path):
    path = fired_plan(tmp_path)
    unknown = run(path, "ack", "0000000000000000", "--by", "kim")
    assert unknown.exit_code == 1 and "no unresolved alert with fingerprint" in unknown.output
    bad = run(path, "silence", "--match", "alertname", "--author", "lee", "--comment", "x")
    assert bad.exit_code == 2 and "expected name=value or name=~regex" in bad.output
    bad_regex = run(path, "silence", "--match", "a=~(", "--author", "lee", "--comment", "x")
    assert bad_regex.exit_code == 2 and "invalid regex" in bad_regex.output
    assert run(path, "unsilence", "nope").exit_code == 1
    assert json.loads(run(path, "silences", "--json", "--all").output) == []


LAST_CYCLE = 1_800_000_000.0 + 22 * 15  # the last evaluation fired_plan ran


def at_time(monkeypatch, now):
    from opsplan.cli import alerts_cmd

    monkeypatch.setattr(alerts_cmd, "_clock", lambda: now)


def test_the_list_says_when_alerts_were_last_evaluated_and_when_that_is_stale(tmp_path, monkeypatch):
    path = fired_plan(tmp_path)
    at_time(monkeypatch, LAST_CYCLE + 30)  # serve is running: its last minute's heartbeat is fresh
    fresh = run(path, "list")
    assert fresh.exit_code == 0
    assert "alerts last evaluated: " in fresh.output and "stale" not in fresh.output
    data = json.loads(run(path, "list", "--json").output)
    assert data["stale"] is False and data["last_evaluated_at_local"].endswith("+09:00")

    at_time(monkeypatch, LAST_CYCLE + 3600)  # serve stopped an hour ago; its alerts still read firing
    stale = run(path, "list")
    assert stale.exit_code == 0 and "firing" in stale.output
    assert "stale: alerts have not been evaluated since 2027-" in stale.output
    assert "KST" in stale.output.splitlines()[0]
    assert json.loads(run(path, "list", "--json").output)["stale"] is True
    ko = run(write_plan(tmp_path, {"language": "ko"}), "list")
    assert "이후 알림을 평가하지 않았습니다" in ko.output


def test_a_database_serve_never_evaluated_is_called_stale(tmp_path):
    path = write_plan(tmp_path, {"language": "en"})
    result = run(path, "list")
    assert result.exit_code == 0
    assert "no record of alerts ever being evaluated" in result.output and "no active alerts" in result.output


def test_state_alerts_and_external_ones_show_no_value_or_threshold(tmp_path, monkeypatch):
    path = write_plan(tmp_path, {"language": "en"})
    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    now = [1_800_000_000.0]
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=lambda n: None,
                         clock=lambda: now[0], host="h")
    for _ in range(23):
        engine.on_cycle(Cycle(now[0], [sample("opsplan_mariadb_up", 0.0)], 0.1))
        now[0] += 15
    engine.ingest_external({"version": "4", "alerts": [{
        "status": "firing", "labels": {"alertname": "ApiDown", "severity": "critical", "service": "llm"},
        "annotations": {"summary": "API is down", "threshold": "0"}, "fingerprint": "abc123"}]})
    db.close()
    at_time(monkeypatch, now[0])
    result = run(path, "list")
    assert result.exit_code == 0
    rows = {line.split(" | ")[1]: line.split(" | ") for line in result.output.splitlines() if " | " in line}
    assert rows["MariaDBDown"][2:6] == ["critical", "firing", "-", "-"], result.output
    assert rows["ApiDown"][4:6] == ["-", "-"], result.output
