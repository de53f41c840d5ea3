"""What a new user meets on the command line (issue 10 item 15): one error line, no `<bool>` after
flags, log times in the plan's timezone, and no promise of retries from a one-shot run."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from opsplan.cli.main import app
from yaml_writer import free_port, write_plan


def closed_database_plan(tmp_path, **overrides):
    # A port nothing listens on: the backup fails at once, as on a machine where MariaDB is down.
    return write_plan(tmp_path, {"database": {"host": "127.0.0.1", "port": free_port()}, "services": [],
                                 **overrides})


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_failed_backup_prints_its_error_once_and_the_log_file_keeps_the_line(tmp_path):
    path = closed_database_plan(tmp_path)
    result = invoke("--plan", path, "backup", "db")
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if "failed" in line]
    assert len(failed) == 1 and failed[0].startswith("opsplan: database backup 1 failed:"), result.stderr

    log_file = tmp_path / "opsplan.log"
    again = invoke("--plan", path, "--log-file", log_file, "backup", "db")
    assert again.exit_code == 1
    assert [line for line in again.stderr.splitlines() if line] == [
        line for line in again.stderr.splitlines() if line.startswith("opsplan: database backup 2 failed")]
    assert "ERROR opsplan.backup.database.engine: database backup 2 failed" in log_file.read_text()


def test_help_shows_no_value_after_a_flag():
    for command in (["backup", "db", "--help"], ["alerts", "list", "--help"], ["--help"]):
        result = invoke(*command)
        assert result.exit_code == 0
        assert "<bool>" not in result.output, result.output
    # Options that take a value still say which.
    assert "<str>" in invoke("alerts", "list", "--help").output


def test_log_lines_are_timed_in_the_plans_timezone_with_its_offset(tmp_path):
    log_file = tmp_path / "opsplan.log"
    for zone, offset in (("Asia/Seoul", r"\+09:00"), ("America/New_York", r"-0[45]:00")):
        path = closed_database_plan(tmp_path, timezone=zone)
        invoke("--plan", path, "--log-file", log_file, "backup", "db")
        last = log_file.read_text().splitlines()[-1]
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}" + offset + " ERROR ", last), last


def test_a_one_shot_collection_does_not_promise_to_retry_nvml(tmp_path):
    # This machine has no NVIDIA driver: the GPU collector says so, once, and nothing about retrying.
    result = invoke("--plan", closed_database_plan(tmp_path), "collect", "--once", "--json")
    assert result.exit_code == 0
    gpu = [line for line in result.stderr.splitlines() if "NVML" in line]
    assert gpu and not [line for line in gpu if "retrying" in line], result.stderr


def test_run_sh_keeps_an_existing_plan_and_says_its_language_and_how_to_switch(tmp_path):
    run_sh = (Path(__file__).resolve().parents[2] / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert re.search(r'opsplan init "\$plan" --lang "\$\{OPSPLAN_LANG:-ko\}" --keep', run_sh)

    plan = tmp_path / "opsplan.yaml"
    first = invoke("init", plan, "--lang", "ko", "--keep")
    assert first.exit_code == 0 and "파일을 썼습니다 (언어: ko)" in first.output
    written = plan.read_text(encoding="utf-8")
    # What `OPSPLAN_LANG=en bash scripts/run.sh` runs once the Korean plan exists: one line, nothing changed.
    again = invoke("init", plan, "--lang", "en", "--keep")
    assert again.exit_code == 0
    assert again.output.strip().splitlines() == [
        f"{plan} exists and is kept (language: ko); to switch, set `language: en` in it, "
        "or remove it and run again for a new plan with en comments."]
    assert plan.read_text(encoding="utf-8") == written
    same = invoke("init", plan, "--lang", "ko", "--keep")
    assert "이미 있어 그대로 사용합니다 (언어: ko)" in same.output
