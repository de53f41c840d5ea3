"""The audit log's hash chain: what is written verifies; an edited, deleted or removed-newest entry
is named by `verify`; secrets never reach it; concurrent writers keep one unbroken chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from opsplan import audit
from opsplan.audit.log import CHANGED, LINK, TAIL
from opsplan.store.state import StateDB
from state_engines import sqlite_only


@pytest.fixture
def db(engine_state_url: str) -> StateDB:
    state = StateDB.open(engine_state_url)
    yield state
    state.close()


def _three(db: StateDB) -> list[int]:
    return [audit.record(db, "kim", action, "alert abc", {"comment": action}, at=1_800_000_000 + i)["id"]
            for i, action in enumerate(("ack", "silence", "login"))]


def test_written_entries_verify_and_list_newest_first(db: StateDB) -> None:
    ids = _three(db)
    result = audit.verify(db)
    assert result.ok and result.entries == 3
    listed = audit.entries(db)
    assert [e["id"] for e in listed] == ids[::-1]
    assert listed[0]["action"] == "login" and listed[0]["target"] == "alert abc"
    assert [e["id"] for e in audit.entries(db, since=1_800_000_001)] == ids[:0:-1]


def test_an_edited_field_is_named(db: StateDB) -> None:
    ids = _three(db)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit SET actor = 'lee' WHERE id = :id"), {"id": ids[1]})
    broken = audit.verify(db).broken
    assert broken is not None and broken.entry_id == ids[1] and broken.reason == CHANGED


def test_a_deleted_entry_is_noticed(db: StateDB) -> None:
    ids = _three(db)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit WHERE id = :id"), {"id": ids[1]})
    broken = audit.verify(db).broken
    assert broken is not None and broken.entry_id == ids[2] and broken.reason == LINK


def test_deleting_the_newest_entry_is_noticed(db: StateDB) -> None:
    ids = _three(db)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit WHERE id = :id"), {"id": ids[2]})
    broken = audit.verify(db).broken
    assert broken is not None and broken.entry_id is None and broken.reason == TAIL


@sqlite_only
def test_secrets_are_masked_in_details(db: StateDB) -> None:
    entry = audit.record(db, "kim", "user.passwd", "user lee", {"password": "hunter2-secret", "user": "lee"})
    assert entry["arguments"] == {"password": "***", "user": "lee"}
    with db.engine.connect() as connection:
        stored = connection.execute(text("SELECT arguments FROM audit")).scalar_one()
    assert "hunter2-secret" not in stored
    assert audit.verify(db).ok


@sqlite_only
def test_concurrent_writers_keep_one_chain(db: StateDB) -> None:
    def write(who: str) -> None:
        for i in range(15):
            audit.record(db, who, "ack", f"alert {i}")

    threads = [threading.Thread(target=write, args=(f"user{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = audit.verify(db)
    assert result.ok, result.broken
    assert result.entries == 60


def test_rows_written_before_the_chain_are_chained_by_the_migration(empty_engine_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from opsplan.store.state import MIGRATIONS

    db = StateDB(empty_engine_url)  # on each engine: the migration's reads and updates run on old rows
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.engine
    command.upgrade(config, "runbooks_0001")
    with db.engine.begin() as connection:
        for i in range(3):
            connection.execute(text("INSERT INTO audit (at, actor, action, arguments) VALUES (:at, 'kim', 'run', "
                                    "'{}')"), {"at": 1_700_000_000.25 + i})
    db.migrate()
    assert audit.verify(db).entries == 3 and audit.verify(db).ok
    audit.record(db, "lee", "ack", "alert x")
    assert audit.verify(db).entries == 4 and audit.verify(db).ok
    db.close()
