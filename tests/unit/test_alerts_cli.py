"""`opsplan alerts ...` on a plan file and its state database, without serve running."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from opsplan.alerts.engine import AlertEngine
from opsplan.metrics import Cycle, sample
from opsplan.rules.model import build_rules
from opsplan.stages.all import load_plan, metric_registry
from opsplan.store.state import StateDB, default_url
from yaml_writer import write_plan


def fired_plan(tmp_path, language="en"):
    path = write_plan(tmp_path, {"language": language})
    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
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


def test_list_json_ack_and_silence_round_trip(tmp_path):
    path = fired_plan(tmp_path)
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
    assert "호스트 전체" in result.output and "Critical에 가려짐" in result.output and "93.0%" in result.output


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
