"""`opsplan db migrate|status` on SQLite, PostgreSQL and MariaDB, the URL from the environment
variable the plan names (as an operator moves the state DB to a server)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from state_engines import STATE_URL_ENV, engine_of
from yaml_writer import write_plan


def run(path, *args, env=None):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), "db", *args], env=env)


def test_status_shows_every_branch_behind_then_migrate_brings_them_to_head(tmp_path, empty_engine_url):
    path = write_plan(tmp_path, {"language": "en", "state_db_url_env": STATE_URL_ENV})
    env = {STATE_URL_ENV: empty_engine_url}

    before = run(path, "status", env=env)
    assert before.exit_code == 3, before.output  # an empty database: every branch behind
    assert "behind" in before.output and "identity_0002" in before.output and "(none)" in before.output
    assert "opsplan db migrate" in before.output
    data = json.loads(run(path, "status", "--json", env=env).output)
    assert data["at_head"] is False and {b["current"] for b in data["branches"]} == {None}

    migrated = run(path, "migrate", env=env)
    assert migrated.exit_code == 0, migrated.output
    assert f"State database: {empty_engine_url.split('://')[0]}" in migrated.output
    assert "schema branches are at their newest revision" in migrated.output

    after = json.loads(run(path, "status", "--json", env=env).output)
    assert after["at_head"] is True
    names = {b["branch"]: b for b in after["branches"]}
    assert {"alerts", "notify", "identity", "runbooks", "backup"} <= set(names)
    assert names["identity"]["current"] == names["identity"]["head"] == "identity_0002"
    again = run(path, "migrate", env=env)  # at head already: nothing to do, same answer
    assert again.exit_code == 0 and "newest revision" in again.output


def test_status_in_korean(tmp_path):
    path = write_plan(tmp_path, {"language": "ko"})
    assert run(path, "migrate").exit_code == 0
    shown = run(path, "status")
    assert shown.exit_code == 0, shown.output
    assert "상태 데이터베이스: sqlite:///" in shown.output and "최신" in shown.output and "뒤처짐" not in shown.output


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://opsplan:s3cret-pw@127.0.0.1:1/opsplan?connect_timeout=2",
    "mysql+pymysql://opsplan:s3cret-pw@127.0.0.1:1/opsplan?connect_timeout=2",
])
@pytest.mark.parametrize("command", ["migrate", "status"])
def test_an_unreachable_server_is_one_line_without_the_password(tmp_path, url, command):
    path = write_plan(tmp_path, {"language": "en", "state_db_url_env": STATE_URL_ENV})
    done = run(path, command, env={STATE_URL_ENV: url})
    assert done.exit_code == 1
    assert "s3cret-pw" not in done.output
    assert done.output.count("\n") == 1 and done.output.startswith("opsplan: cannot ")
    assert "Connection refused" in done.output or "connect" in done.output.lower()


def test_a_missing_environment_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv(STATE_URL_ENV, raising=False)
    path = write_plan(tmp_path, {"language": "en", "state_db_url_env": STATE_URL_ENV})
    done = run(path, "status")
    assert done.exit_code == 1 and f"{STATE_URL_ENV}, which is not set" in done.output


def test_copy_moves_the_sqlite_history_to_the_server_once(tmp_path, empty_engine_url):
    """An operator moving a box's SQLite state DB onto a server keeps incidents and the audit chain,
    ids go on from where they were, and a second copy into the filled server is refused."""
    from opsplan import audit
    from opsplan.checks import runs
    from opsplan.checks.runs import CheckItemRow, CheckRun
    from opsplan.incidents.lifecycle import Incidents
    from opsplan.plan.models import Text
    from opsplan.stages.all import load_plan
    from opsplan.store.state import StateDB

    path = write_plan(tmp_path, {"language": "en", "state_db_url_env": STATE_URL_ENV})
    plan = load_plan(path)
    on_sqlite = StateDB.open(f"sqlite:///{tmp_path / 'data' / 'state.db'}")
    try:
        first = Incidents(plan, on_sqlite).open("critical", Text(ko="API 중단", en="API down"), by="kim", now=1.8e9)
        audit.record(on_sqlite, "kim", "incident.open", f"incident {first}", {"via": "cli"}, at=1.8e9)
        # Documents past 64 KB (MariaDB's TEXT): a long note on the timeline and a check item's result.
        long_note = "로그 확인 " * 15_000
        Incidents(plan, on_sqlite).note(first, long_note, by="kim", now=1.8e9 + 1)
        with on_sqlite.session() as session:
            session.add(CheckRun(id=7, period="daily", window_start=0.0, window_end=1.0, started_at=1.0,
                                 finished_at=2.0, status="pass", actor="test"))
            session.flush()
            session.add(CheckItemRow(run_id=7, position=0, item_id="system.usage", title_ko="사용률", title_en="usage",
                                     status="pass", result=json.dumps({"points": list(range(20_000))})))
    finally:
        on_sqlite.close()
    env = {STATE_URL_ENV: empty_engine_url}

    copied = run(path, "copy", "--from", str(tmp_path / "data" / "state.db"), "--json", env=env)
    assert copied.exit_code == 0, copied.output
    tables = json.loads(copied.output)["tables"]
    assert tables["incidents"] == 1 and tables["audit"] == 1 and tables["incident_timeline"] >= 1

    server = StateDB.open(empty_engine_url)
    try:
        incidents = Incidents(plan, server)
        assert incidents.get(first)["title"]["en"] == "API down"
        assert incidents.get(first)["timeline"][-1]["data"]["text"] == long_note
        assert runs.get_run(server, 7)["items"][0]["result"]["points"][-1] == 19_999
        assert audit.verify(server).ok  # the chain's hashes and head came across as they were
        second = incidents.open("minor", Text(ko="느림", en="slow"), by="kim", now=1.8e9 + 60)
        assert second == first + 1
    finally:
        server.close()

    again = run(path, "copy", "--from", str(tmp_path / "data" / "state.db"), env=env)
    assert again.exit_code == 1 and again.output.count("\n") == 1
    assert "nothing copied: the target already holds data in:" in again.output and "incidents" in again.output


def test_copy_without_a_target_or_while_serve_runs_is_one_line(tmp_path, monkeypatch):
    import fcntl
    import os

    monkeypatch.delenv(STATE_URL_ENV, raising=False)
    path = write_plan(tmp_path, {"language": "en", "state_db_url_env": STATE_URL_ENV})
    no_target = run(path, "copy")
    assert no_target.exit_code == 1 and f"environment variable `{STATE_URL_ENV}`" in no_target.output

    env = {STATE_URL_ENV: f"sqlite:///{tmp_path / 'other.db'}"}
    (tmp_path / "data").mkdir(exist_ok=True)
    from opsplan.store.state import StateDB

    StateDB.open(f"sqlite:///{tmp_path / 'data' / 'state.db'}").close()
    (tmp_path / "data" / "metrics").mkdir()
    fd = os.open(tmp_path / "data" / "metrics" / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a running serve holds
    try:
        busy = run(path, "copy", env=env)
    finally:
        os.close(fd)
    assert busy.exit_code == 1 and "`opsplan serve` is running: stop it first" in busy.output
    assert not (tmp_path / "other.db").exists()


def test_copy_fits_names_sqlite_kept_longer_than_their_column(tmp_path, empty_engine_url):
    """SQLite keeps any length in a VARCHAR; the servers refuse the whole row, and so the whole copy.
    An external alert's long name linked to an incident before such names were clipped is clipped
    on the way (the labels keep it whole)."""
    from sqlalchemy import text

    from opsplan.incidents.lifecycle import Incidents
    from opsplan.plan.models import Text
    from opsplan.stages.all import load_plan
    from opsplan.store.state import StateDB

    path = write_plan(tmp_path, {"language": "en", "state_db_url_env": STATE_URL_ENV})
    plan = load_plan(path)
    name = "GpuXidErrorsReportedByTheDriver" * 10  # 310 characters; the column holds 200
    on_sqlite = StateDB.open(f"sqlite:///{tmp_path / 'data' / 'state.db'}")
    try:
        first = Incidents(plan, on_sqlite).open("critical", Text(ko="GPU 오류", en="GPU errors"), by="kim", now=1.8e9)
        with on_sqlite.session() as session:  # as an older opsplan wrote it
            session.execute(text("INSERT INTO incident_alerts (incident_id, fingerprint, alert, severity, labels, "
                                 "started_at) VALUES (:i, 'ab12', :a, 'critical', :l, 1.8e9)"),
                            {"i": first, "a": name, "l": json.dumps({"alertname": name})})
    finally:
        on_sqlite.close()
    copied = run(path, "copy", "--from", str(tmp_path / "data" / "state.db"), "--json",
                 env={STATE_URL_ENV: empty_engine_url})
    assert copied.exit_code == 0, copied.output
    server = StateDB.open(empty_engine_url)
    try:
        [link] = Incidents(plan, server).get(first)["alerts"]
    finally:
        server.close()
    clipped = name if engine_of(empty_engine_url) == "sqlite" else name[:199] + "…"
    assert link["alert"] == clipped and link["labels"]["alertname"] == name


def test_a_refused_copy_says_why_in_korean_on_a_korean_plan(tmp_path):
    """KOREAN.md rule 6: the reason inside a Korean sentence is Korean too (it was English)."""
    from opsplan.incidents.lifecycle import Incidents
    from opsplan.plan.models import Text
    from opsplan.stages.all import load_plan
    from opsplan.store.state import StateDB
    from unit.test_korean_text import assert_korean

    path = write_plan(tmp_path, {"language": "ko", "state_db_url_env": STATE_URL_ENV})
    (tmp_path / "data").mkdir(exist_ok=True)
    source = StateDB.open(f"sqlite:///{tmp_path / 'data' / 'state.db'}")
    try:
        Incidents(load_plan(path), source).open("minor", Text(ko="느림", en="slow"), by="kim", now=1.8e9)
    finally:
        source.close()
    env = {STATE_URL_ENV: f"sqlite:///{tmp_path / 'server.db'}"}
    assert run(path, "copy", env=env).exit_code == 0
    full = run(path, "copy", env=env)
    same = run(path, "copy", env={STATE_URL_ENV: f"sqlite:///{tmp_path / 'data' / 'state.db'}"})
    for refused, said in ((full, "이미 데이터가 있습니다"), (same, "같은 데이터베이스")):
        assert refused.exit_code == 1 and refused.output.count("\n") == 1
        assert said in refused.output, refused.output
        assert_korean("copy refused", refused.output)
    assert "`incidents`" in full.output
