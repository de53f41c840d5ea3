"""Identity on every state DB engine (SQLite, PostgreSQL, MariaDB; a throwaway database on each
server, dropped afterwards): users, a login, throttling across two StateDB instances, revocation,
tokens. The schema itself is checked by test_schema_truth.py; this checks the queries."""

from __future__ import annotations

from argon2 import PasswordHasher
from test_schema_truth import migrated_url  # noqa: F401 - the fixture: a fresh database per engine

from opsplan.store.state import StateDB
from opsplan.web.identity import sessions, tokens
from opsplan.web.identity.login import BAD, OK, THROTTLED, Login
from opsplan.web.identity.users import Users

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"


def test_users_logins_throttling_and_tokens(migrated_url):  # noqa: F811 - the imported fixture
    now = [1_800_000_000.25]
    clock = lambda: now[0]  # noqa: E731
    db = StateDB.open(migrated_url)
    try:
        users = Users(db, None, clock, FAST)
        suffix = str(int(now[0] * 1000) % 100000)
        name, other = f"kim{suffix}", f"lee{suffix}"
        users.add(name, "admin", PASSWORD, actor="root")
        users.add(other, "operator", PASSWORD, actor="root")
        login = Login(db, None, clock, FAST)
        token = login.attempt(name, PASSWORD, address="10.1.1.1").session_token
        assert token
        with db.session() as session:
            active = sessions.lookup(session, token, now[0], sessions.Policy())
        assert active is not None and active.created_at == now[0]  # sub-second times survive
        users.set_role(other, "viewer", actor="root")
        users.set_password(name, "another long password", actor="root")
        with db.session() as session:
            assert sessions.lookup(session, token, now[0], sessions.Policy()) is None
        for _ in range(5):
            assert login.attempt(other, "wrong password!", address="10.1.1.2").result == BAD
    finally:
        db.close()
    again = StateDB.open(migrated_url)
    try:
        assert Login(again, None, clock, FAST).attempt(other, PASSWORD, address="10.1.1.3").result == THROTTLED
        assert Login(again, None, clock, FAST).attempt(name, "another long password").result == OK
        with again.session() as session:
            user_id = Users(again, None, clock, FAST).get(name).id
            _, api = tokens.create(session, user_id, "ci", "write", now[0], now[0] + 60)
        with again.session() as session:
            assert tokens.authenticate(session, api, now[0] + 59) is not None
            assert tokens.authenticate(session, api, now[0] + 61) is None
        assert [u.name for u in Users(again, None, clock, FAST).all()] == sorted([name, other])
        users = Users(again, None, clock, FAST)
        users.set_disabled(other, True, actor="root")
        assert [u.disabled for u in users.all()] == [False, True]
    finally:
        again.close()
