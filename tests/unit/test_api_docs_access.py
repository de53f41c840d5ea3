"""/api/docs and /api/v1/openapi.json are for logged-in users: the app as `serve` builds it (create_app
with the console frame and the identity stage's sessions), asked anonymously, with a session, and
with API tokens that are good, revoked or of a disabled user."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan, Web
from opsplan.serve.loop import CollectionLoop
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from opsplan.web.app import ServeState, create_app
from opsplan.web.console.frame import Console, NavItem
from opsplan.web.identity import tokens
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NOW = 1_800_000_000.0
BASE = "http://127.0.0.1:8080"


def app_for(tmp_path: Path, store: MetricsStore, plan: Plan, db: StateDB | None) -> TestClient:
    latest = LatestSamples(metric_registry())
    lock = threading.Lock()
    loop = CollectionLoop(CollectionRunner([], deadline=1.0), store, latest, interval=15, store_lock=lock)
    web = build_identity_web(plan, db, lambda: NOW, hasher=FAST) if db is not None else None
    console = Console(plan, web)
    console.add_page(NavItem("/api/docs", 90))
    app = create_app(ServeState(plan=plan, latest=latest, loop=loop, store=store, store_lock=lock, state_db=db,
                                console=console),
                     routers=[identity_router(web)] if web is not None else [])
    return TestClient(app, base_url=BASE)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, StateDB]]:
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    users = Users(db, tmp_path, lambda: NOW, FAST)
    users.add("view01", "viewer", PASSWORD, actor="root")
    users.add("gone01", "operator", PASSWORD, actor="root")
    with MetricsStore(tmp_path / "metrics") as store:
        yield app_for(tmp_path, store, Plan(data_dir=tmp_path), db), db
    db.close()


def token_of(db: StateDB, name: str, scope: str = "read") -> tuple[int, str]:
    with db.session() as session:
        user_id = next(u.id for u in Users(db, None, lambda: NOW, FAST).all() if u.name == name)
        return tokens.create(session, user_id, "docs", scope, NOW, None)


def test_anonymous_is_sent_to_log_in_for_the_page_and_refused_the_schema(served):
    client, _ = served
    page = client.get("/api/docs", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fapi%2Fdocs"
    for path in ("/api/v1/openapi.json", "/api/docs/openapi.json"):
        schema = client.get(path)
        assert schema.status_code == 401 and "paths" not in schema.text, path
    assert schema.headers["www-authenticate"] == "Bearer"
    # A made-up token, or the old shared token's shape, is anonymous too.
    for header in ("Bearer opsp_not-a-real-token", "Bearer something-else", "Basic dmlldzAxOng="):
        assert client.get("/api/v1/openapi.json", headers={"Authorization": header}).status_code == 401, header
    # Swagger UI's own files are the library's, the same for everyone.
    assert client.get("/api/docs/assets/swagger-ui.css").status_code == 200


def test_a_logged_in_user_reads_the_page_and_the_schema(served):
    client, _ = served
    answer = client.post("/login", data={"name": "view01", "password": PASSWORD}, headers={"Origin": BASE},
                         follow_redirects=False)
    assert answer.status_code == 303
    page = client.get("/api/docs")
    assert page.status_code == 200 and 'id="swagger-ui"' in page.text
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200 and "/api/v1/query" in schema.json()["paths"]
    assert client.get("/api/docs/openapi.json").json()["paths"] == schema.json()["paths"]
    # The console's navigation links to the docs.
    assert 'href="/api/docs?lang=ko"' in client.get("/").text


def test_a_live_api_token_of_an_enabled_user_reads_the_schema_and_no_other(served):
    client, db = served
    _, good = token_of(db, "view01")
    revoked_id, revoked = token_of(db, "view01", "write")
    _, disabled = token_of(db, "gone01", "write")
    with db.session() as session:
        tokens.revoke(session, revoked_id, NOW)
    Users(db, None, lambda: NOW, FAST).set_disabled("gone01", True, actor="root")
    assert client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    for token in (revoked, disabled):
        assert client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_without_logins_the_docs_are_open_on_loopback_only(tmp_path):
    with MetricsStore(tmp_path / "metrics") as store:
        loopback = app_for(tmp_path, store, Plan(data_dir=tmp_path), None)
        assert loopback.get("/api/v1/openapi.json").status_code == 200
        assert loopback.get("/api/docs").status_code == 200
        public = app_for(tmp_path, store, Plan(data_dir=tmp_path, web=Web(bind="0.0.0.0")), None)
        assert public.get("/api/v1/openapi.json").status_code == 401
        assert public.get("/api/docs", follow_redirects=False).status_code == 503
