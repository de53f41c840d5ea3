"""schemathesis against `/api/v1/openapi.json` (issues 9 and 12): every operation of the app `serve`
builds, fuzzed with valid and invalid input (schemathesis' examples, coverage, fuzzing and stateful
phases) as three callers:
- anonymous: every unsafe request (POST/PUT/PATCH/DELETE) is refused, 401 or 403, never done;
- a script with a real per-user write token (an operator made with the identity API): the write
  routes' bodies reach the domain code (webhooks ingested, silences created, alerts acknowledged);
- a browser with a console session (logged in through `/login`) sending its CSRF header and Origin.
No answer may be a 5xx or break the response schema it documents, and nothing the app logs may be
an ERROR or carry a traceback.

The app is the real one, run as `serve` runs it: every stage composed on a real state DB and
metrics store in a tmp dir, the collection loop and the stages' threads running (system, fake GPUs,
a MariaDB and a service that refuse connections, so alerts are pending and notices flow); requests
go in-process through the ASGI app, with a Host the app answers. Sized for CI (about a minute on two
cores); bench/fuzz_api.py is the long run against a real `opsplan serve` over HTTP.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

import api_fuzz
import yaml_writer
from opsplan.alerts.engine import AlertEngine
from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan
from opsplan.serve.loop import CollectionLoop
from opsplan.stages.all import compose, metric_registry
from opsplan.store import MetricsStore
from opsplan.web.app import ServeState, create_app
from opsplan.web.identity import tokens
from opsplan.web.identity.routes import COOKIE
from opsplan.web.identity.users import Users

pytestmark = pytest.mark.slow

SHARED_TOKEN = "fuzz-t0ken-for-tests-only"  # configured (deprecated), so wrong tokens meet a real compare
HOST = "127.0.0.1:8080"
BASE_URL = f"http://{HOST}"  # a Host the app answers (web/hosts.py)
WATCHED_LOGGERS = ("opsplan", "uvicorn", "fastapi", "starlette", "sqlalchemy")
MAX_EXAMPLES = 20  # per operation and phase, for each of the three callers
PASSWORD = "fuzz-operator-passw0rd"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WRITES = {"POST /api/v1/alertmanager", "POST /api/v1/alerts/{fingerprint}/ack", "POST /api/v1/silences",
          "DELETE /api/v1/silences/{silence_id}"}
# The incident API's writes (web/incidents_api.py).
WRITES |= {"POST /api/v1/incidents", "POST /api/v1/incidents/{incident_id}/actions/{number}/done",
           *(f"POST /api/v1/incidents/{{incident_id}}/{step}" for step in (
               "ack", "assign", "severity", "stage", "task", "note", "resolve", "close", "cancel", "merge", "fields",
               "postmortem", "actions", "snooze"))}


@dataclass(frozen=True)
class Served:
    app: Any
    headers: dict[str, dict[str, str] | None]  # what each caller sends on every request


def callers(app: Any, plan: Plan, state_db: Any) -> dict[str, dict[str, str] | None]:
    """An operator made with the identity API; their write token, and a console session opened by
    logging in through /login, as a browser does (the CSRF token read off the alerts page)."""
    Users(state_db, plan.data_dir, time.time, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)).add(
        "fuzzer", "operator", PASSWORD, actor="test")
    with state_db.session() as session:
        user_id = Users(state_db, None, time.time).get("fuzzer").id
        _, token = tokens.create(session, user_id, "fuzz", "write", time.time(), None)
    with TestClient(app, base_url=BASE_URL) as browser:
        logged_in = browser.post("/login", data={"name": "fuzzer", "password": PASSWORD, "next": "/alerts"},
                                 headers={"Origin": BASE_URL})
        assert logged_in.status_code == 200 and logged_in.url.path == "/alerts", logged_in.text[:300]
        csrf = CSRF.search(logged_in.text)
        assert csrf is not None, "an operator's alerts page carries the session's CSRF token"
        cookie = browser.cookies[COOKIE]
    return {
        "anonymous": None,
        "user-token": {"Authorization": f"Bearer {token}"},
        "session": {"Cookie": f"{COOKIE}={cookie}", "X-CSRF-Token": csrf.group(1), "Origin": BASE_URL},
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("fuzz")
    plan = Plan.model_validate({
        "data_dir": str(tmp / "data"), "backup": {"directory": str(tmp / "backups")},
        "monitoring": {"interval": "2s"},
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "services": [{"name": "llm-api", "group": "app", "timeout": "1s",
                      "url": f"http://127.0.0.1:{yaml_writer.free_port()}/health"}],
    })
    (tmp / "data").mkdir(mode=0o700)
    parts = compose(plan, {"OPSPLAN_API_TOKEN": SHARED_TOKEN})
    store = MetricsStore(tmp / "data" / "metrics")
    lock = threading.Lock()
    latest = LatestSamples(metric_registry())
    runner = CollectionRunner(parts.collectors, rollups=parts.rollups, deadline=1.6)
    loop = CollectionLoop(runner, store, latest, interval=plan.monitoring.interval, store_lock=lock,
                          after_cycle=parts.on_cycle)
    loop.run_cycle()
    engine = parts.context.get(AlertEngine)
    assert engine is not None and engine.active(), "MariaDB and the service are down: alerts are pending"
    parts.start()
    loop.start()
    try:
        app = create_app(ServeState(plan=plan, latest=latest, loop=loop, store=store, store_lock=lock,
                                    state_db=parts.context.state_db, alerts=engine), routers=parts.routers)
        yield Served(app, callers(app, plan, parts.context.state_db))
    finally:
        loop.stop()
        parts.stop()
        runner.close()
        store.close()


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    caplog.set_level(logging.WARNING)  # a warning logged with a traceback counts too
    yield caplog.records


def tracebacks_and_errors(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.levelname} {r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in records
            if r.name.startswith(WATCHED_LOGGERS) and (r.levelno >= logging.ERROR or r.exc_info or r.exc_text)]


@pytest.mark.parametrize("caller", ["anonymous", "user-token", "session"])
def test_no_request_gets_a_5xx_or_logs_a_traceback(served: Served, caller: str, logged: list[logging.LogRecord]):
    # The schema from the app itself (over HTTP it is served to logged-in users only, web/api_docs.py).
    # The browser sends no Authorization header: with one, a request is checked as a token instead.
    schema = api_fuzz.from_document(served.app.openapi(), app=served.app,
                                    drop_header="authorization" if caller == "session" else None)
    api_fuzz.configure(schema, max_examples=MAX_EXAMPLES, base_url=BASE_URL, headers=served.headers[caller])
    report = api_fuzz.run(schema)
    print(f"{caller}: {len(report.operations)} operations, {report.requests} requests, {report.server_errors} 5xx")
    for op in sorted(report.operations):
        print(f"  {op}: {dict(sorted(report.answered(op).items()))}")
    print(f"  and {len(report.undocumented_methods)} methods no path has (PUT, TRACE ...)")
    for error in report.fuzzer_errors:
        print(f"schemathesis (not the app): {error}")

    assert report.operations >= WRITES and "GET /api/v1/query" in report.operations
    assert report.requests > 400, report.statuses
    assert report.server_errors == 0 and not report.failures, "\n".join(report.failures)
    assert not report.errors, "\n".join(report.errors)
    assert not tracebacks_and_errors(logged), "\n".join(tracebacks_and_errors(logged))
    assert report.unsafe_operations == WRITES  # a new write route is fuzzed here too: add it above
    for op in report.undocumented_methods:  # e.g. PUT on a silence: no such route, for anyone
        assert set(report.answered(op)) == {405}, (op, report.answered(op))
    if caller == "anonymous":  # nothing gets past the auth check, whatever else is wrong with the request
        for op in sorted(report.unsafe_operations):
            assert set(report.answered(op)) <= {401, 403}, (op, report.answered(op))
        return
    # Let in: the domain code behind each write was reached.
    for op in WRITES:
        assert not set(report.answered(op)) & {401, 403}, (op, report.answered(op))
    assert report.answered("POST /api/v1/alertmanager")[200] > 0
    assert report.answered("POST /api/v1/silences")[201] > 0
    # Acks and expiries need an id from an earlier answer (the schema's links, stateful phase): done
    # (200), or a valid request for an alert or silence that is gone (404). Not 200 alone: CPython
    # 3.11.7's AST bug can cut an operation's phase short (reported above as the fuzzer's error).
    for op in ("POST /api/v1/alerts/{fingerprint}/ack", "DELETE /api/v1/silences/{silence_id}"):
        assert report.answered(op)[200] + report.answered(op)[404] > 0, (op, report.answered(op))
    assert report.answered("POST /api/v1/alerts/{fingerprint}/ack")[200] + report.answered(
        "DELETE /api/v1/silences/{silence_id}")[200] > 0, "the links led to no ack and no expiry"
    # ... as the user: whatever `author` a body named, the silences are the operator's.
    with TestClient(served.app, base_url=BASE_URL) as client:
        silences = client.get("/api/v1/silences", params={"all": True}).json()["silences"]
    assert silences and {s["author"] for s in silences} == {"fuzzer"}
