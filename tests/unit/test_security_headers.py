"""Every HTML page the app serves carries the strict policy and needs nothing it forbids: no inline
script, style or event handler, nothing loaded from another origin. Routes are found from the app
itself, so a page added later (overview, login, users) is checked without a list to keep up."""

from __future__ import annotations

import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan
from opsplan.serve.loop import CollectionLoop
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.web.app import ServeState, create_app
from opsplan.web.headers import DOCS_CSP, DOCS_PREFIX, PAGE_CSP

EXPECTED_PAGE_CSP = ("default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self'; "
                     "img-src 'self' data:; "
                     "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class InlineFinder(HTMLParser):
    """What a strict CSP would block on the page, as (tag, what) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "style":
            self.blocked.append("<style> element")
        if tag == "script" and not values.get("src"):
            self.blocked.append("inline <script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=...> event handler")
            if name == "style":
                self.blocked.append(f"<{tag} style=...>")
            if name in ("src", "href", "action") and value:
                lowered = value.strip().lower()
                if lowered.startswith(("http:", "https:", "//")):
                    self.blocked.append(f"<{tag} {name}={value}> from another origin")
                if lowered.startswith("javascript:"):
                    self.blocked.append(f"<{tag} {name}=javascript:...>")


@pytest.fixture
def client(tmp_path: Path):
    with MetricsStore(tmp_path / "metrics") as store:
        plan = Plan()
        latest = LatestSamples(metric_registry())
        lock = threading.Lock()
        loop = CollectionLoop(CollectionRunner([], deadline=1.0), store, latest, interval=15, store_lock=lock)
        loop.run_cycle()
        app = create_app(ServeState(plan=plan, latest=latest, loop=loop, store=store, store_lock=lock))
        yield app, TestClient(app, base_url="http://127.0.0.1:8080")


def html_pages(app, client: TestClient) -> dict[str, object]:
    """Every GET route without path parameters that answers HTML, in both languages."""
    pages = {}
    for route in app.routes:
        if not isinstance(route, APIRoute) or "GET" not in route.methods or "{" in route.path:
            continue
        for query in ("", "?lang=ko", "?lang=en"):
            answer = client.get(route.path + query)
            if answer.headers.get("content-type", "").startswith("text/html"):
                pages[route.path + query] = answer
    return pages


def test_the_page_policy_is_the_strict_one():
    assert PAGE_CSP == EXPECTED_PAGE_CSP
    assert "unsafe" not in PAGE_CSP and "http" not in PAGE_CSP


def test_every_html_route_has_the_policy_and_needs_nothing_it_blocks(client):
    app, http = client
    pages = html_pages(app, http)
    assert "/" in pages and "/?lang=ko" in pages  # the status page at least
    for path, answer in pages.items():
        expected = DOCS_CSP if path.startswith(DOCS_PREFIX) else PAGE_CSP
        assert answer.headers["content-security-policy"] == expected, path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["referrer-policy"] in ("no-referrer", "same-origin"), path
        finder = InlineFinder()
        finder.feed(answer.text)
        assert finder.blocked == [], f"{path}: {finder.blocked}"


def test_the_finder_sees_what_the_policy_would_block():
    finder = InlineFinder()
    finder.feed('<script>alert(1)</script><div style="color:red" onclick="x()"></div>'
                '<script src="https://cdn.example/htmx.js"></script><style>p{}</style>')
    assert len(finder.blocked) == 5
