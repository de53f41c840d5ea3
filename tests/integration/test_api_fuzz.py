"""schemathesis against `/api/v1/openapi.json` (issue 9, item 7): every operation of the app `serve`
builds, fuzzed with valid and invalid input (schemathesis' examples, coverage, fuzzing and stateful
phases), without and with the write token. No answer may be a 5xx or break the response schema it
documents, and nothing may be logged at ERROR (a traceback, a notice that could not be rendered).

The app is the real one, run as `serve` runs it: every stage composed on a real state DB and
metrics store in a tmp dir, the collection loop and the stages' threads running (system, fake GPUs,
a MariaDB and a service that refuse connections, so alerts are pending and notices flow), one real
silence; requests go in-process through the ASGI app, with a Host the app answers. Sized for CI
(under a minute here); bench/fuzz_api.py is the long run against a real `opsplan serve` over HTTP.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

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

pytestmark = pytest.mark.slow

TOKEN = "fuzz-t0ken-for-tests-only"
BASE_URL = "http://127.0.0.1:8080"  # a Host the app answers (web/hosts.py)
WATCHED_LOGGERS = ("opsplan", "uvicorn", "fastapi", "starlette", "sqlalchemy")
MAX_EXAMPLES = 25  # per operation and phase; each case is sent once without and once with the token


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("fuzz")
    plan = Plan.model_validate({
        "data_dir": str(tmp / "data"), "backup": {"directory": str(tmp / "backups")},
        "monitoring": {"interval": "2s"},
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "services": [{"name": "llm-api", "group": "app", "timeout": "1s",
                      "url": f"http://127.0.0.1:{yaml_writer.free_port()}/health"}],
    })
    (tmp / "data").mkdir(mode=0o700)
    parts = compose(plan, {"OPSPLAN_API_TOKEN": TOKEN})
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
        yield create_app(ServeState(plan=plan, latest=latest, loop=loop, store=store, store_lock=lock,
                                    state_db=parts.context.state_db, alerts=engine), routers=parts.routers)
    finally:
        loop.stop()
        parts.stop()
        runner.close()
        store.close()


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    caplog.set_level(logging.ERROR)
    yield caplog.records


def errors_in(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in records
            if r.levelno >= logging.ERROR and r.name.startswith(WATCHED_LOGGERS)]


@pytest.mark.parametrize("token", [None, TOKEN], ids=["without-token", "with-token"])
def test_no_request_gets_a_5xx_or_logs_a_traceback(app: Any, token: str | None,
                                                   errors_logged: list[logging.LogRecord]):
    # The schema from the app itself: over HTTP it is served to logged-in users only (web/api_docs.py).
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(app.openapi())))
    schema.app = app
    api_fuzz.configure(schema, max_examples=MAX_EXAMPLES, base_url=BASE_URL,
                       headers={"Authorization": f"Bearer {token}"} if token else None)
    report = api_fuzz.run(schema)
    print(f"{len(report.operations)} operations, {report.requests} requests, {report.server_errors} 5xx")
    for error in report.fuzzer_errors:
        print(f"schemathesis (not the app): {error}")

    writes = {"POST /api/v1/alertmanager", "POST /api/v1/alerts/{fingerprint}/ack", "POST /api/v1/silences",
              "DELETE /api/v1/silences/{silence_id}"}
    assert writes <= report.operations and "GET /api/v1/query" in report.operations
    assert report.requests > 500, report.statuses
    assert report.server_errors == 0 and not report.failures, "\n".join(report.failures)
    assert not report.errors, "\n".join(report.errors)
    assert not errors_in(errors_logged), "\n".join(errors_in(errors_logged))
    writes_refused = sum(n for (op, status), n in report.statuses.items() if op in writes and status == 401)
    if token is None:  # nothing gets past the token check
        assert not any(status in (200, 201) for (op, status) in report.statuses if op in writes)
    else:  # the domain code behind the writes was reached: alerts ingested, silences created
        assert writes_refused == 0
        assert report.statuses[("POST /api/v1/alertmanager", 200)] > 0
        assert report.statuses[("POST /api/v1/silences", 201)] + report.statuses[("Stateful tests", 201)] > 0
