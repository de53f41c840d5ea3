"""Identity on a real SQLite state DB: passwords, TOTP and recovery codes, sessions, throttling,
API tokens, and the audit entries every change and login writes."""

from __future__ import annotations

import json

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from opsplan.plan.models import Plan
from opsplan.store.state import StateDB
from opsplan.web.auth import bearer_auth
from opsplan.web.identity import sessions, tokens
from opsplan.web.identity.login import BAD, NEED_CODE, OK, THROTTLED, Login
from opsplan.web.identity.models import User
from opsplan.web.identity.users import IdentityError, Users
from state_engines import sqlite_only

PASSWORD = "correct horse battery"
# Cheap parameters so the tests run fast; the default hasher is what production uses.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path, engine_state_url):
    url = engine_state_url
    db = StateDB.open(url)
    clock = Clock()
    users = Users(db, tmp_path, clock, FAST)
    login = Login(db, tmp_path, clock, FAST)
    yield db, clock, users, login, tmp_path, url
    db.close()


def audit_actions(data_dir) -> list[tuple[str, str, str]]:
    lines = (data_dir / "audit.log").read_text().splitlines()
    return [(e["actor"], e["action"], e["outcome"]) for e in map(json.loads, lines)]


def test_a_user_logs_in_with_the_right_password_only(world):
    db, clock, users, login, data_dir, _ = world
    users.add("kim", "operator", PASSWORD, actor="root@box")
    good = login.attempt("kim", PASSWORD, address="10.0.0.5")
    assert good.result == OK and good.role == "operator" and good.session_token
    assert login.attempt("kim", "wrong password!", address="10.0.0.5").result == BAD
    # A name that does not exist reads exactly as a wrong password.
    assert login.attempt("nobody", PASSWORD, address="10.0.0.5").result == BAD
    with db.session() as session:
        stored = session.query(User).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert audit_actions(data_dir) == [("root@box", "user.add", "ok"), ("kim", "login", "ok"),
                                       ("kim", "login.failed", "bad"), ("-", "login.failed", "bad")]
    # A name that is no user's (perhaps a password typed in the name field) is not written as typed.
    assert "nobody" not in (data_dir / "audit.log").read_text()
    assert PASSWORD not in (data_dir / "audit.log").read_text()


def test_a_name_differing_in_case_or_trailing_space_is_no_user_on_every_engine(world):
    """MariaDB's default collation finds `kim` for `KIM` or `kim `; PostgreSQL and SQLite do not."""
    from opsplan.web.identity.users import IdentityError

    _, _, users, login, data_dir, _ = world
    users.add("kim", "operator", PASSWORD, actor="root")
    assert login.attempt("KIM", PASSWORD).result == BAD
    assert login.attempt("kim ", PASSWORD).result == BAD
    with pytest.raises(IdentityError, match="KIM"):
        users.set_role("KIM", "viewer", actor="root")
    assert users.get("kim").role == "operator"
    assert [actor for actor, action, _ in audit_actions(data_dir) if action == "login.failed"] == ["-", "-"]


@sqlite_only
def test_a_hash_made_with_older_parameters_is_replaced_at_the_next_login(world):
    db, clock, users, _, data_dir, _ = world
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    Users(db, data_dir, clock, weak).add("kim", "viewer", PASSWORD, actor="root")
    with db.session() as session:
        before = session.query(User).one().password_hash
    assert "m=512" in before
    assert Login(db, data_dir, clock, FAST).attempt("kim", PASSWORD).result == OK
    with db.session() as session:
        after = session.query(User).one().password_hash
    assert "m=1024" in after and after != before
    assert Login(db, data_dir, clock, FAST).attempt("kim", PASSWORD).result == OK


def test_bad_names_roles_and_short_passwords_are_refused_in_one_line(world):
    _, _, users, _, _, _ = world
    with pytest.raises(IdentityError, match="too short"):
        users.add("kim", "viewer", "short", actor="root")
    with pytest.raises(IdentityError, match="No role 'root'"):
        users.add("kim", "root", PASSWORD, actor="root")
    with pytest.raises(IdentityError, match="cannot be used"):
        users.add("Kim Lee", "viewer", PASSWORD, actor="root")
    users.add("kim", "admin", PASSWORD, actor="root")
    with pytest.raises(IdentityError, match="already exists"):
        users.add("kim", "viewer", PASSWORD, actor="root")
    with pytest.raises(IdentityError, match="last admin"):
        users.set_role("kim", "viewer", actor="root")
    with pytest.raises(IdentityError, match="last admin"):
        users.set_disabled("kim", True, actor="root")


def test_totp_codes_work_once_and_recovery_codes_once_each(world):
    _, clock, users, login, _, _ = world
    users.add("kim", "admin", PASSWORD, actor="root")
    secret, codes = users.enable_totp("kim", actor="root")
    assert len(codes) == 10 and len(set(codes)) == 10
    assert login.attempt("kim", PASSWORD).result == NEED_CODE  # right password, no session yet
    code = pyotp.TOTP(secret).at(clock.now)
    assert login.attempt("kim", PASSWORD, code="000000" if code != "000000" else "111111").result == BAD
    assert login.attempt("kim", PASSWORD, code=code).result == OK
    assert login.attempt("kim", PASSWORD, code=code).result == BAD  # replayed within its window
    clock.now += 30
    assert login.attempt("kim", PASSWORD, code=pyotp.TOTP(secret).at(clock.now)).result == OK
    assert login.attempt("kim", PASSWORD, code=codes[0].upper()).result == OK
    assert login.attempt("kim", PASSWORD, code=codes[0]).result == BAD  # used up
    assert login.attempt("kim", PASSWORD, code=codes[1]).result == OK


def test_sessions_end_when_idle_or_too_old(world):
    db, clock, users, login, _, _ = world
    users.add("kim", "viewer", PASSWORD, actor="root")
    policy = sessions.Policy(idle=30 * 60, absolute=12 * 3600)
    token = login.attempt("kim", PASSWORD).session_token
    with db.session() as session:
        stored = [row.id_hash for row in session.query(sessions.LoginSession).all()]
    assert token not in stored and stored == [sessions.digest(token)]
    # Active every 29 minutes: alive until the absolute limit.
    for _ in range(30):
        clock.now += 29 * 60
        with db.session() as session:
            alive = sessions.lookup(session, token, clock.now, policy)
        if clock.now - 1_800_000_000.0 > 12 * 3600:
            assert alive is None
            break
        assert alive is not None and alive.user == "kim"
    else:
        pytest.fail("the session outlived its absolute timeout")
    other = login.attempt("kim", PASSWORD).session_token
    clock.now += 31 * 60
    with db.session() as session:
        assert sessions.lookup(session, other, clock.now, policy) is None
    with db.session() as session:  # an ended session stays ended
        assert sessions.lookup(session, other, clock.now, sessions.Policy(1e9, 1e9)) is None


def test_a_password_role_change_or_disabling_ends_every_session(world):
    db, clock, users, login, _, _ = world
    users.add("kim", "operator", PASSWORD, actor="root")
    policy = sessions.Policy()

    def alive(token: str) -> bool:
        with db.session() as session:
            return sessions.lookup(session, token, clock.now, policy) is not None

    first, second = (login.attempt("kim", PASSWORD).session_token for _ in range(2))
    assert alive(first) and alive(second)
    assert users.set_password("kim", "another long password", actor="root") == 2
    assert not alive(first) and not alive(second)
    assert login.attempt("kim", PASSWORD).result == BAD
    third = login.attempt("kim", "another long password").session_token
    users.set_role("kim", "viewer", actor="root")
    assert not alive(third)
    fourth = login.attempt("kim", "another long password").session_token
    users.set_disabled("kim", True, actor="root")
    assert not alive(fourth)
    assert login.attempt("kim", "another long password").result == BAD
    users.set_disabled("kim", False, actor="root")
    assert login.attempt("kim", "another long password").result == OK


def test_throttling_survives_a_restart_and_does_not_tell_who_exists(world):
    db, clock, users, login, data_dir, url = world
    users.add("kim", "operator", PASSWORD, actor="root")
    for _ in range(5):
        assert login.attempt("kim", "wrong password!", address="10.0.0.9").result == BAD
    assert login.attempt("kim", PASSWORD, address="10.0.0.9").result == THROTTLED
    for _ in range(5):
        login.attempt("ghost", "wrong password!", address="10.0.0.8")
    assert login.attempt("ghost", PASSWORD, address="10.0.0.8").result == THROTTLED
    # A new process: a new StateDB on the same file still refuses.
    db.close()
    reopened = StateDB.open(url)
    try:
        again = Login(reopened, data_dir, clock, FAST)
        refused = again.attempt("kim", PASSWORD, address="10.0.0.7")
        assert refused.result == THROTTLED and refused.retry_after and refused.retry_after > 0
        # Another user from the throttled address is refused too (per address).
        users2 = Users(reopened, data_dir, clock, FAST)
        users2.add("lee", "viewer", PASSWORD, actor="root")
        assert again.attempt("lee", PASSWORD, address="10.0.0.9").result == THROTTLED
        assert again.attempt("lee", PASSWORD, address="10.0.0.6").result == OK
        clock.now += 61
        assert again.attempt("kim", PASSWORD, address="10.0.0.7").result == OK
    finally:
        reopened.close()


def test_the_delay_grows_with_more_failures(world):
    _, clock, users, login, _, _ = world
    users.add("kim", "operator", PASSWORD, actor="root")
    for _ in range(5):
        login.attempt("kim", "wrong password!")
    first = login.attempt("kim", PASSWORD).retry_after
    clock.now += 61
    login.attempt("kim", "wrong password!")  # the sixth failure
    second = login.attempt("kim", PASSWORD).retry_after
    assert first is not None and second is not None and second > first


def write_app(db: StateDB, clock: Clock, environ: dict[str, str]) -> TestClient:
    app = FastAPI()
    auth = bearer_auth(Plan().web, environ, db, clock)

    @app.post("/write", dependencies=[Depends(auth)])
    def write(request: Request) -> dict[str, str]:
        return {"as": request.state.principal.user}

    return TestClient(app)


def test_user_tokens_write_by_scope_role_and_expiry(world, caplog):
    db, clock, users, _, _, _ = world
    users.add("op", "operator", PASSWORD, actor="root")
    users.add("view", "viewer", PASSWORD, actor="root")
    with db.session() as session:
        op_id = session.query(User).filter_by(name="op").one().id
        view_id = session.query(User).filter_by(name="view").one().id
        _, write_token = tokens.create(session, op_id, "ci", "write", clock.now, clock.now + 3600)
        _, read_token = tokens.create(session, op_id, "grafana", "read", clock.now, None)
        _, viewer_token = tokens.create(session, view_id, "mine", "write", clock.now, None)
        stored = [t.token_hash for t in tokens.listed(session)]
    assert write_token not in stored
    client = write_app(db, clock, {"OPSPLAN_API_TOKEN": "shared-secret-token"})

    def post(token: str):
        return client.post("/write", headers={"Authorization": f"Bearer {token}"})

    assert post(write_token).json() == {"as": "op"}
    assert post(read_token).status_code == 403
    assert post(viewer_token).status_code == 403
    assert post(tokens.PREFIX + "made-up").status_code == 401
    assert client.post("/write").status_code == 401
    # The shared token still works, with one deprecation line however often it is used.
    with caplog.at_level("WARNING", logger="opsplan.web.auth"):
        assert post("shared-secret-token").json() == {"as": "shared-token"}
        assert post("shared-secret-token").status_code == 200
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "deprecated" in caplog.records[0].message and "shared-secret-token" not in caplog.text
    clock.now += 3601
    assert post(write_token).status_code == 401  # expired
    users.set_disabled("view", True, actor="root")
    with db.session() as session:
        _, fresh = tokens.create(session, op_id, "ci2", "write", clock.now, None)
    assert post(fresh).status_code == 200
    users.set_disabled("op", True, actor="root")
    assert post(fresh).status_code == 401  # a disabled user's tokens stop working
    users.set_disabled("op", False, actor="root")
    with db.session() as session:
        assert tokens.revoke(session, tokens.listed(session)[-1].id, clock.now) is not None
    assert post(fresh).status_code == 401
