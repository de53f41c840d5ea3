"""logs.analysis (seed §2.2 로그 분석): real log files mined with Drain3 week after week: a new error in
week 2 is reported with its count, numbers and addresses never split a template, secrets never reach
a finding or the state file, and a state file that is not ours is refused."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from opsplan.checks import logs, registry
from opsplan.checks.model import NOT_RUN, PASS, WARN, CheckContext, ItemResult
from opsplan.plan.models import Plan

WEEK = 7 * 86400.0
T0 = 1_795_000_000.0


def plan_for(*files: tuple[str, Path], journal: bool = False) -> Plan:
    return Plan.model_validate({"checks": {"log_sources": [{"name": n, "path": str(p)} for n, p in files],
                                           "access_logs": False, "journal": journal}})


def context(plan: Plan, data: Path, week: int) -> CheckContext:
    start = T0 + (week - 1) * WEEK
    return CheckContext(plan=plan, period="weekly", start=start, end=start + WEEK, now=start + WEEK,
                        data_dir=data)


def everyday_lines(rng: random.Random, n: int) -> list[str]:
    """MariaDB error-log shapes, every number and address different."""
    out = []
    for _ in range(n):
        day, second = rng.randint(1, 28), rng.randint(0, 59)
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        out.append(rng.choice([
            f"2026-11-{day:02d} 10:00:{second:02d} {rng.randint(1, 99999)} [Warning] Aborted connection "
            f"{rng.randint(1, 99999)} to db: 'app' user: 'api' host: '{ip}' (Got an error reading communication "
            "packets)",
            f"2026-11-{day:02d} 11:22:{second:02d} 0 [Note] InnoDB: Buffer pool(s) load completed at "
            f"2026-11-{day:02d} 11:22:{second:02d}",
            f"2026-11-{day:02d} 12:00:{second:02d} {rng.randint(1, 999)} [Note] Start binlog_dump to "
            f"slave_server({rng.randint(1, 9)}), pos(mariadb-bin.{rng.randint(1, 999):06d}, {rng.randint(4, 10**9)})",
        ]))
    return out


def append(path: Path, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))


def texts(result: ItemResult) -> str:
    return repr([f.values for f in result.findings])


def test_a_new_error_in_week_two_is_reported_with_its_count_and_numbers_never_split_a_template(tmp_path):
    rng = random.Random(14)
    log = tmp_path / "error.log"
    append(log, everyday_lines(rng, 400))
    plan, data = plan_for(("mariadb", log)), tmp_path / "state"

    first = registry.evaluate("logs.analysis", context(plan, data, 1))
    assert first.status == PASS, first
    assert first.summary.values["lines"] == 400
    # 400 lines with 400 different numbers and addresses are the three shapes they were written from
    assert first.summary.values["templates"] == 3
    assert first.summary.values["new"] == 0  # the first run learns; it cannot tell new from old
    assert [f.key for f in first.findings] == ["checks.logs.first_run"]

    errors = [f"2026-11-{d:02d} 03:1{d % 10}:0{d % 6} {900 + d} [ERROR] mariadbd: Disk full (/tmp/#sql-temptable-"
              f"{d:x}a1b2c3d4.MAI); waiting for someone to free space... (errno: 28 \"No space left on device\")"
              for d in range(1, 8)]
    week2 = everyday_lines(rng, 300)
    append(log, week2[:150] + errors + week2[150:])
    second = registry.evaluate("logs.analysis", context(plan, data, 2))

    assert second.status == WARN  # a new template that reads as trouble
    assert second.summary.values["lines"] == 307  # only what was written since the last run
    assert second.summary.values["new"] == 1
    new = [f for f in second.findings if f.key == "checks.logs.new_template"]
    assert len(new) == 1 and new[0].values["count"] == 7 and new[0].values["source"] == "mariadb"
    assert "[ERROR] mariadbd: Disk full" in new[0].values["template"]
    # the example is masked: no timestamp, thread id or hex name of the week survives
    example = new[0].values["example"]
    assert "<TIME>" in example and "2026-11" not in example and "a1b2c3d4" not in example
    assert second.findings[0] == new[0]  # trouble first
    assert second.figures[0].value == 307


def test_a_template_whose_count_doubled_is_rising_and_one_seen_once_is_rare(tmp_path):
    log = tmp_path / "app.log"
    plan, data = plan_for(("app", log)), tmp_path / "state"
    append(log, [f"worker {i} finished job {i * 7} in {i % 50} ms" for i in range(40)]
           + [f"request from 10.0.0.{i} failed: upstream timed out after {i}s" for i in range(1, 11)])
    registry.evaluate("logs.analysis", context(plan, data, 1))
    append(log, [f"worker {i} finished job {i * 7} in {i % 50} ms" for i in range(40)]
           + [f"request from 10.0.1.{i} failed: upstream timed out after {i}s" for i in range(1, 51)]
           + ["cache reloaded"])
    # the rare one must be known from before to be rare rather than new
    result = registry.evaluate("logs.analysis", context(plan, data, 2))
    rising = [f for f in result.findings if f.key == "checks.logs.rising"]
    assert [(f.values["previous"], f.values["count"]) for f in rising] == [(10, 50)]
    assert "<IP>" in rising[0].values["template"] and "10.0.1." not in rising[0].values["example"]
    assert result.status == WARN  # "failed ... timed out" rising is trouble

    append(log, ["cache reloaded"] + [f"worker {i} finished job {i} in 3 ms" for i in range(40)])
    third = registry.evaluate("logs.analysis", context(plan, data, 3))
    rare = [f.values for f in third.findings if f.key == "checks.logs.rare"]
    assert [(v["template"], v["count"]) for v in rare] == [("cache reloaded", 1)]
    assert third.status == PASS


def test_secrets_never_reach_a_finding_or_the_state_file(tmp_path):
    log = tmp_path / "api.log"
    plan, data = plan_for(("api", log)), tmp_path / "state"
    append(log, ["connecting to mysql://api:hunter2@127.0.0.1:3306/app"])
    registry.evaluate("logs.analysis", context(plan, data, 1))
    append(log, ["login user=ops password=s3cr3t-Pa55 ok", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc"])
    result = registry.evaluate("logs.analysis", context(plan, data, 2))
    shown = texts(result)
    assert "password=***" in shown and "s3cr3t" not in shown and "eyJhbGci" not in shown
    state = logs.state_path(data, "api")
    blob = logs.drain_state_blob(__import__("json").loads(state.read_text())["drain"]).decode()
    for secret in ("hunter2", "s3cr3t", "eyJhbGci"):
        assert secret not in blob and secret not in state.read_text()


def test_the_state_file_is_0600_and_one_with_a_looser_mode_is_refused(tmp_path):
    log = tmp_path / "error.log"
    append(log, everyday_lines(random.Random(1), 20))
    plan, data = plan_for(("mariadb", log)), tmp_path / "state"
    registry.evaluate("logs.analysis", context(plan, data, 1))
    state = logs.state_path(data, "mariadb")
    assert state.stat().st_mode & 0o777 == 0o600
    assert (data / "logs").stat().st_mode & 0o777 == 0o700

    state.chmod(0o644)  # e.g. restored from a backup by hand: anyone could have written the pickle
    result = registry.evaluate("logs.analysis", context(plan, data, 2))
    assert result.status == NOT_RUN and result.reason is not None
    assert result.reason.key == "checks.logs.state_refused"
    assert "0644" in result.reason.values["detail"] and "\n" not in result.reason.values["detail"]
    assert state.stat().st_mode & 0o777 == 0o644  # refused, not overwritten

    state.chmod(0o600)
    elsewhere = tmp_path / "elsewhere.json"
    state.rename(elsewhere)
    state.symlink_to(elsewhere)  # a link to a file that passes every other check is still not loaded
    linked = registry.evaluate("logs.analysis", context(plan, data, 2))
    assert linked.status == NOT_RUN and linked.reason is not None
    assert linked.reason.key == "checks.logs.state_refused" and "plain file" in linked.reason.values["detail"]


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a file of another owner needs root")
def test_a_state_file_of_another_owner_is_refused(tmp_path):
    state = tmp_path / "logs" / "x.state.json"
    state.parent.mkdir()
    state.write_text("{}")
    state.chmod(0o600)
    os.chown(state, 65534, 65534)
    with pytest.raises(logs.StateRefused, match="uid 65534"):
        logs.read_state(state)


def test_a_missing_log_is_that_source_not_run_and_the_others_still_run(tmp_path):
    there = tmp_path / "there.log"
    append(there, ["service started", "service started"])
    plan = plan_for(("gone", tmp_path / "missing.log"), ("there", there), journal=True)
    result = registry.evaluate("logs.analysis", context(plan, tmp_path / "state", 1))
    assert result.status == PASS and result.summary.values["sources"] == 1
    unreadable = [f for f in result.findings if f.key == "checks.logs.unreadable"]
    assert unreadable[0].values["source"] == "gone" and "No such file" in unreadable[0].values["detail"]
    if not logs.systemd_runs():  # this build machine: a container without systemd
        assert any(f.key == "checks.logs.no_systemd" for f in result.findings)

    no_dir = context(plan, tmp_path, 1)
    no_dir.data_dir = None  # never falls back to a shared temporary directory
    refused = registry.evaluate("logs.analysis", no_dir)
    assert refused.status == NOT_RUN and refused.reason is not None
    assert refused.reason.key == "checks.logs.no_data_dir"

    only_missing = plan_for(("gone", tmp_path / "missing.log"))
    alone = registry.evaluate("logs.analysis", context(only_missing, tmp_path / "state", 1))
    assert alone.status == NOT_RUN and alone.reason is not None and alone.reason.key == "checks.logs.unreadable"


def test_a_rotated_log_is_finished_before_the_new_one_is_read(tmp_path):
    log = tmp_path / "app.log"
    plan, data = plan_for(("app", log)), tmp_path / "state"
    append(log, ["job 1 done"])
    registry.evaluate("logs.analysis", context(plan, data, 1))
    append(log, ["job 2 done", "job 3 done"])  # written after the run, then rotated away
    log.rename(tmp_path / "app.log.1")
    append(log, ["job 4 done"])
    result = registry.evaluate("logs.analysis", context(plan, data, 2))
    assert result.summary.values["lines"] == 3


def test_the_services_access_logs_in_the_plan_are_sources_too(tmp_path):
    access = tmp_path / "access.log"
    append(access, [f'10.0.0.{i} - - [23/Nov/2026:10:00:{i:02d} +0900] "GET /v1/models HTTP/1.1" 200 {100 + i} '
                    '"-" "curl/8.0"' for i in range(30)])
    plan = Plan.model_validate({
        "services": [{"name": "llm-api", "group": "app", "access_log": {"path": str(access)}}],
        "checks": {"log_sources": [], "journal": False}})
    result = registry.evaluate("logs.analysis", context(plan, tmp_path / "state", 1))
    assert result.status == PASS and result.summary.values["sources"] == 1
    assert [(f.name.values["source"], f.value) for f in result.figures] == [("llm-api-access", 30),
                                                                           ("llm-api-access", 1)]
    off = Plan.model_validate({"services": plan.model_dump()["services"],
                               "checks": {"log_sources": [], "journal": False, "access_logs": False}})
    nothing = registry.evaluate("logs.analysis", context(off, tmp_path / "state2", 1))
    assert nothing.status == NOT_RUN and nothing.reason is not None  # no source at all is never a pass
    assert nothing.reason.key == "checks.logs.none_in_plan"
