"""The web app's edges (issue 9, items 1 and 6): bad query input is a 400 with one line, regexes are
RE2, every answer carries the security headers, only this server's Host names are answered, the
API docs come from local files, and what the store and state DB write is private."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics import sample
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan, Web
from opsplan.serve.loop import CollectionLoop
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB, default_url
from opsplan.web.alertmanager_api import alertmanager_router
from opsplan.web.app import ServeState, create_app

T0 = 1_700_000_100.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricsStore]:
    with MetricsStore(tmp_path / "metrics", clock=lambda: T0 + 600) as st:
        for c in range(4):
            st.append(T0 + 15 * c, [sample("cpu", 10.0 + c, host=f"h{h}") for h in range(4)]
                      + [sample("victim", 1.0, value="a" * 28 + "b")])
        yield st


def make_client(store: MetricsStore, *, web: Web | None = None, ingested: list | None = None) -> TestClient:
    plan = Plan(web=web or Web())
    latest = LatestSamples(metric_registry())
    lock = threading.Lock()
    loop = CollectionLoop(CollectionRunner([], deadline=1.0), store, latest, interval=15, store_lock=lock)
    loop.run_cycle()
    routers = [alertmanager_router((ingested if ingested is not None else []).append)]
    app = create_app(ServeState(plan=plan, latest=latest, loop=loop, store=store, store_lock=lock),
                     routers=routers)
    return TestClient(app, base_url="http://127.0.0.1:8080")


def one_line_400(response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    reason = body.get("detail") or body.get("error")
    assert isinstance(reason, str) and reason and "\n" not in reason and "Traceback" not in reason
    return reason


@pytest.mark.parametrize("params, says", [
    ({"end": "inf"}, "end"),
    ({"start": "nan"}, "start"),
    ({"end": "1e308"}, "end"),
    ({"start": "-inf"}, "start"),
    ({"start": "now-1000000000w"}, "start"),
    ({"match": "host~=("}, "invalid regex"),
    ({"match": "host~=" + "a" * 300}, "at most 256"),
    ({"match": "host~=a{1000}{1000}"}, "regex"),
    ({"match": "~=x"}, "match"),
])
def test_bad_query_input_is_a_one_line_400(store: MetricsStore, params: dict, says: str):
    client = make_client(store)
    reason = one_line_400(client.get("/api/v1/query", params={"metric": "cpu", **params}))
    assert says in reason


def test_regex_matchers_select_series_in_linear_time(store: MetricsStore):
    client = make_client(store)
    got = client.get("/api/v1/query", params={"metric": "cpu", "match": "host~=h[13]", "start": str(T0),
                                              "end": str(T0 + 60), "step": 15}).json()
    assert [s["labels"]["host"] for s in got["series"]] == ["h1", "h3"]
    # Exponential for a backtracking engine (2^28 steps, about 20 s on this value); RE2 answers at once.
    began = time.monotonic()
    evil = client.get("/api/v1/query", params={"metric": "victim", "match": "value~=(a+)+$", "start": str(T0),
                                               "end": str(T0 + 60), "step": 15})
    assert evil.status_code == 200 and evil.json()["series"] == []
    assert time.monotonic() - began < 5
    assert store.query("victim", {"value~": "(a+)+b"}, T0, T0 + 60, 15)[0].labels["value"].endswith("b")


def test_a_deeply_nested_webhook_body_is_a_400(store: MetricsStore):
    ingested: list = []
    client = make_client(store, ingested=ingested)
    deep = "[" * 100_000 + "]" * 100_000
    reason = one_line_400(client.post("/api/v1/alertmanager", content=deep,
                                      headers={"content-type": "application/json"}))
    assert "nested too deeply" in reason and ingested == []


def test_every_answer_carries_the_security_headers(store: MetricsStore):
    client = make_client(store)
    for path in ("/", "/healthz", "/metrics", "/api/v1/status", "/api/v1/query?metric=cpu", "/no-such-page",
                 "/api/docs", "/static/status.css"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "same-origin", path  # nothing to other sites
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp, path
        assert "http" not in csp and "*" not in csp, path  # nothing from elsewhere
        assert "unsafe-inline" not in csp.split("script-src")[-1].split(";")[0], path
    page = client.get("/")
    # The status page needs nothing its policy forbids: no inline style or script, its CSS and JS from here.
    assert "<style" not in page.text and 'style="' not in page.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, flags=re.S)
    assert scripts and all(re.search(r'src="/static/', attrs) and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", page.text)  # no inline event handlers either
    assert "style-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/status.css").text.startswith("body{")


def test_only_this_servers_host_names_are_answered(store: MetricsStore):
    client = make_client(store, web=Web(public_url="https://ops.example.kr/console"))
    for host in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080", "ops.example.kr"):
        assert client.get("/api/v1/status", headers={"host": host}).status_code == 200, host
    # DNS rebinding: the attacker's name pointed at 127.0.0.1; the browser sends that name.
    for host in ("rebind.attacker.example:8080", "127.0.0.1.attacker.example", "ops.example.kr.attacker.example"):
        refused = client.get("/api/v1/status", headers={"host": host})
        assert refused.status_code == 400 and "server" not in refused.text, host


def test_api_docs_are_served_from_local_files(store: MetricsStore):
    client = make_client(store)
    page = client.get("/api/docs")
    assert page.status_code == 200 and 'id="swagger-ui"' in page.text
    assert "http://" not in page.text and "https://" not in page.text and "<script>" not in page.text
    for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css", "/api/docs/init.js"):
        answer = client.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 100, asset
    assert "/api/docs/openapi.json" in client.get("/api/docs/init.js").text
    assert client.get("/api/docs/openapi.json").json()["openapi"] == "3.0.3"  # what Swagger UI 4 renders
    assert client.get("/api/docs/assets/index.html").status_code == 404
    schema = client.get("/api/v1/openapi.json").json()
    assert "label~=regex" in json.dumps(schema["paths"]["/api/v1/query"])


def modes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode)) for p in [root, *root.rglob("*")]}


def test_the_metrics_store_and_state_db_are_private(tmp_path: Path):
    old = os.umask(0o022)
    try:
        data = tmp_path / "data"
        with MetricsStore(data / "metrics", clock=lambda: T0 + 86400) as st:
            for c in range(10):
                st.append(T0 + 15 * c, [sample("cpu", float(c))])
            st.maintain()  # blocks, manifest
        db = StateDB.open(default_url(data))
        db.close()
    finally:
        os.umask(old)
    found = modes(data)
    assert any(name.endswith(".blk") for name in found) and "state.db" in found and "metrics/MANIFEST.json" in found
    loose = {name: mode for name, mode in found.items() if name != "." and mode not in ("0o600", "0o700")}
    assert not loose, f"readable by others: {loose}"
