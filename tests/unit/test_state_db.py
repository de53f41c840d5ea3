"""The state database: migrations that can run again, transactions that roll back, safe errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from opsplan.errors import StoreError
from opsplan.store.state import META, MIGRATIONS, StateDB, script_heads, state_url


def test_migrate_twice_keeps_data_and_rolls_back_a_failed_transaction(empty_engine_url, tmp_path):
    url = empty_engine_url  # SQLite, PostgreSQL, MariaDB: each migrated forward from nothing here
    db = StateDB.open(url)
    with db.session() as session:
        session.execute(META.insert().values(key="site", value="seoul"))  # `key` is reserved on MariaDB
    with pytest.raises(RuntimeError), db.session() as session:
        session.execute(META.insert().values(key="half", value="done"))
        raise RuntimeError("interrupted")
    db.close()
    again = StateDB.open(url)
    with again.session() as session:
        rows = session.execute(select(META.c.key, META.c.value).where(META.c.key.in_(["site", "half"]))).all()
        versions = set(session.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert rows == [("site", "seoul")]
    assert versions == script_heads()  # every branch at its head
    again.close()
    if url.startswith("sqlite"):
        assert (tmp_path / "state.db").is_file()  # created where the plan says


def test_a_url_from_the_environment_and_a_missing_one(tmp_path):
    assert state_url(tmp_path, None, {}) == f"sqlite:///{tmp_path / 'state.db'}"
    assert state_url(tmp_path, "OPSPLAN_STATE_URL", {"OPSPLAN_STATE_URL": "sqlite:///x.db"}) == "sqlite:///x.db"
    with pytest.raises(StoreError, match="OPSPLAN_STATE_URL, which is not set"):
        state_url(tmp_path, "OPSPLAN_STATE_URL", {})


def test_an_unreachable_database_is_one_line_without_the_password():
    with pytest.raises(StoreError) as raised:
        StateDB.open("mysql+pymysql://opsplan:s3cret-pw@127.0.0.1:1/opsplan?connect_timeout=1")
    message = str(raised.value)
    assert "s3cret-pw" not in message and "\n" not in message
    assert message.startswith("cannot migrate the state database")


def test_the_heads_read_from_the_version_files_are_alembics():
    from alembic.script import ScriptDirectory

    assert script_heads() == frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def test_a_database_at_its_newest_revisions_opens_without_alembic_and_a_missing_branch_is_migrated(
        engine_state_url):
    import subprocess
    import sys
    from pathlib import Path

    url = engine_state_url
    # A second command on the same database: one query tells it is current; alembic stays unloaded.
    probe = ("import sys; from opsplan.store.state import StateDB; db = StateDB.open(sys.argv[1]); "
             "print('alembic' in sys.modules); db.close()")
    src = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}, check=False)
    assert done.stdout.strip() == "False", done.stderr

    # A branch the database lacks (as after an upgrade that adds one) is still migrated.
    db = StateDB.open(url)
    with db.session() as session:
        session.execute(text("DROP TABLE model_serving"))
        session.execute(text("DROP TABLE model_perf_baseline"))
        session.execute(text("DELETE FROM alembic_version WHERE version_num = 'model_rollback_0001'"))
    db.close()
    again = StateDB.open(url)
    with again.session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM model_serving")).scalar() == 0
        versions = set(session.execute(text("SELECT version_num FROM alembic_version")).scalars())
    again.close()
    assert "model_rollback_0001" in versions
