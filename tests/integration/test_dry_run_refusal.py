"""A dry run says what the real run will do, refusals included (issue 10 item 6).

With `recovery.database_service.kind: none` an in-place restore cannot stop the database, so the
real run is refused at its first step: the dry run must say so, in the plan's language, and exit
non-zero, instead of printing a plan with empty commands and exiting 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from yaml_writer import write_plan


def opsplan(plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(plan), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("language", "refused"), [("en", "the real run will be refused at this step"),
                                                   ("ko", "실제 실행은 이 단계에서 거부됩니다")])
def test_restore_dry_run_without_a_database_service_says_the_run_will_be_refused(
        tmp_path: Path, language: str, refused: str) -> None:
    plan = write_plan(tmp_path, {"language": language, "timezone": "Asia/Seoul"})  # database_service: none

    res = opsplan(plan, "restore", "db", "--dry-run")

    assert res.returncode == 1, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    refusals = [line for line in lines if refused in line]
    assert len(refusals) == 1 and "database_service" in refusals[0], res.stdout
    assert "--target-datadir" in refusals[0]
    for fragment in ("database: \n", "(else )", "REFUSED:"):
        assert fragment not in res.stdout + "\n", res.stdout
    runs = json.loads(opsplan(plan, "runbook", "list", "--json").stdout)["runs"]
    assert [(r["kind"], r["status"], r["dry_run"], r["failed_step"]) for r in runs] == [
        ("restore-db", "refused", True, "stop_service")]


def test_restore_dry_run_into_another_datadir_is_not_refused(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, {"language": "en", "timezone": "Asia/Seoul"})

    res = opsplan(plan, "restore", "db", "--dry-run", "--target-datadir", str(tmp_path / "copy"))

    assert res.returncode == 0, res.stdout + res.stderr
    assert "refused" not in res.stdout and "(else )" not in res.stdout
