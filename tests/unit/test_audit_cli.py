"""`opsplan audit list|verify` on a plan's state database: an intact log verifies (exit 0); a row
edited or deleted in SQL is named (exit 1), in the plan's language."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from opsplan import audit
from opsplan.stages.all import load_plan
from opsplan.store.state import StateDB, default_url
from yaml_writer import write_plan


def logged_plan(tmp_path, language="en"):
    path = write_plan(tmp_path, {"language": language})
    db = StateDB.open(default_url(load_plan(path).data_dir))
    for i, (who, action) in enumerate([("kim", "alert.ack"), ("lee", "silence.add"), ("park", "alert.ack")]):
        audit.record(db, who, action, f"alert a{i}", {"comment": "c", "api_token": "t0psecret"},
                     at=1_800_000_000 + 60 * i)
    return path, db


def run(path, *args):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), "audit", *args])


def test_an_intact_log_verifies_and_lists(tmp_path):
    path, db = logged_plan(tmp_path)
    verified = run(path, "verify")
    assert verified.exit_code == 0, verified.output
    assert "intact: 3 entries" in verified.output
    listed = run(path, "list", "--json")
    data = json.loads(listed.output)
    assert [e["actor"] for e in data["entries"]] == ["park", "lee", "kim"]
    assert data["entries"][0]["at"].endswith("+09:00")
    assert "t0psecret" not in listed.output
    recent = json.loads(run(path, "list", "--json", "--since", "2027-01-15 17:01").output)
    assert [e["actor"] for e in recent["entries"]] == ["park", "lee"]
    table = run(path, "list").output
    assert "acknowledge alert" in table and "park" in table
    bad = run(path, "list", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "cannot read --since" in bad.output
    db.close()


@pytest.mark.parametrize("language, said", [("en", "audit entry #2 was changed"), ("ko", "항목 #2의 내용이")])
def test_an_edited_row_is_named(tmp_path, language, said):
    path, db = logged_plan(tmp_path, language)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit SET actor = 'mallory' WHERE id = 2"))
    verified = run(path, "verify")
    assert verified.exit_code == 1
    assert said in verified.output
    db.close()


def test_the_korean_list_names_actions_in_korean_with_their_id(tmp_path):
    path, db = logged_plan(tmp_path, "ko")
    table = run(path, "list").output
    assert "알림 확인 (alert.ack)" in table and "알림 중지 (silence.add)" in table and "KST" in table
    db.close()


def test_a_deleted_row_is_noticed(tmp_path):
    path, db = logged_plan(tmp_path)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit WHERE id = 2"))
    verified = run(path, "verify", "--json")
    assert verified.exit_code == 1
    assert json.loads(verified.output)["broken"] == {"entry_id": 3, "reason": "link"}
    db.close()


def test_a_backup_started_from_the_cli_is_audited_even_when_it_fails(tmp_path, monkeypatch):
    import yaml_writer
    from opsplan.cli.main import app

    path = write_plan(tmp_path, {"language": "en", "database": {"port": yaml_writer.free_port(),
                                                               "connect_timeout": "1s"}})
    monkeypatch.setenv("USER", "kim")
    started = CliRunner().invoke(app, ["--plan", str(path), "backup", "db", "--full"])
    assert started.exit_code != 0  # no MariaDB on that port
    db = StateDB.open(default_url(load_plan(path).data_dir))
    [entry] = audit.entries(db)
    assert (entry["actor"], entry["action"], entry["arguments"]["requested"]) == ("kim", "backup.start", "full")
    db.close()
