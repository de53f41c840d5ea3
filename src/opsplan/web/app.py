"""FastAPI app factory: /metrics, /healthz, /api/v1/* and the status page. Read-only on purpose."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.middleware.trustedhost import TrustedHostMiddleware

from opsplan import __version__
from opsplan.alerts.engine import AlertEngine
from opsplan.metrics import Cycle
from opsplan.metrics.exposition import LatestSamples
from opsplan.metrics.matchers import LabelMatchers, PatternError
from opsplan.plan.models import Plan
from opsplan.plan.types import parse_duration
from opsplan.store import MetricsStore
from opsplan.store.health import Persistence, describe
from opsplan.store.state import StateDB, StateUnavailable
from opsplan.web.api_docs import STATIC, api_docs_router
from opsplan.web.console.frame import Console, PageContext
from opsplan.web.headers import SecurityHeaders
from opsplan.web.hosts import allowed_hosts
from opsplan.web.status import build_status

MAX_POINTS = 11_000  # as Prometheus: a query asking for more is a mistake, not a workload
MATCH_HELP = ("Label matchers, repeatable: `label=value` (exact) or `label~=regex` (RE2 syntax, must match the "
              "whole value, linear time, at most 256 characters).")
MAX_UNIX_TIME = 1e11  # year 5138: beyond it a time is a typo, and its milliseconds overflow
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class CycleSource(Protocol):
    """What the web side reads of the collection loop (serve's CollectionLoop is one)."""

    @property
    def last_cycle(self) -> Cycle | None: ...

    @property
    def store_error(self) -> str | None: ...


class ThreadHealth(Protocol):
    """What the web side reads of serve's threads (serve's Supervisor is one): why any is not running."""

    def summary(self) -> str | None: ...


@dataclass
class ServeState:
    plan: Plan
    latest: LatestSamples
    loop: CycleSource
    store: MetricsStore
    store_lock: threading.Lock
    state_db: StateDB | None = None
    alerts: AlertEngine | None = None  # the status page shows what is firing
    persistence: Persistence | None = None  # what cannot be written now (a full disk)
    threads: ThreadHealth | None = None  # a thread that died (and is being restarted)
    started: float = field(default_factory=time.time)
    console: Console | None = None  # the pages' frame (logins); None: open, read-only, loopback only
    # "active" or "standby": whether this serve holds the plan's lease (serve/lease.py); None: no lease.
    role: Callable[[], str] | None = None


def _time_param(value: str | None, default: float, name: str, now: float) -> float:
    if value is None or value == "":
        return default
    seconds: float | None = None
    try:
        seconds = float(value)
    except ValueError:
        if value.startswith("now-"):
            with contextlib.suppress(Exception):  # any parse failure is the caller's bad input
                seconds = now - parse_duration(value[4:])
    # inf, nan and 1e308 parse as floats; none is a time (and the store cannot turn them into ms).
    if seconds is None or not 0 <= seconds <= MAX_UNIX_TIME:
        raise HTTPException(400, f"{name}: expected unix seconds (0 to {MAX_UNIX_TIME:.0e}) or now-DURATION "
                                 f"(e.g. now-1h), got {value[:40]!r}")
    return seconds


def _label_matchers(match: list[str] | None) -> dict[str, str]:
    """`label=value` (exact) and `label~=regex` (RE2, whole value) into the store's form; 400 if bad."""
    matchers: dict[str, str] = {}
    for item in match or []:
        key, sep, value = item.partition("=")
        if not sep or not key or key == "~":
            raise HTTPException(400, f"match: expected label=value or label~=regex, got {item[:60]!r}")
        matchers[key] = value
    try:
        LabelMatchers.parse(matchers)  # compiled once here (and cached) so a bad regex is the caller's 400
    except PatternError as exc:
        raise HTTPException(400, f"match: {exc}") from None
    return matchers


def create_app(state: ServeState, routers: Sequence[APIRouter] = (),
               hosts: Sequence[str] | None = None) -> FastAPI:
    """`hosts`: the Host names answered (web/hosts.py); by default those of the plan's bind address."""
    # docs_url=None: FastAPI's docs page loads Swagger UI from a CDN; web/api_docs.py serves local files.
    # openapi_url=None: the schema is served by web/api_docs.py, to logged-in users only.
    app = FastAPI(title="opsplan", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    if hosts is None:
        hosts = allowed_hosts(state.plan.web.bind, state.plan.web.public_url)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))
    app.add_middleware(SecurityHeaders)  # added last: outermost, so even a refused Host gets the headers
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    console = state.console or Console(state.plan, None)
    app.include_router(api_docs_router(console, app.openapi))

    def health_age() -> float | None:
        cycle = state.loop.last_cycle
        return None if cycle is None else time.time() - cycle.timestamp

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(state.latest.render(), media_type=PROMETHEUS_TEXT)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        age = health_age()
        # Healthy once a cycle ran and the loop is keeping up (three intervals of slack).
        stale = age is None or age > 3 * state.plan.monitoring.interval + 5
        # Unhealthy too while what must be kept cannot be written: alerts then live only in memory.
        persistence = state.persistence.summary() if state.persistence is not None else None
        # And while a thread (the loop, the scheduler, the notifier, ...) is dead or a cycle hook keeps failing.
        threads = state.threads.summary() if state.threads is not None else None
        failing = persistence or threads
        status = "starting" if age is None else ("stale" if stale else ("degraded" if failing else "ok"))
        body = {"status": status, "last_cycle_age_seconds": None if age is None else round(age, 3),
                "store_error": state.loop.store_error, "persistence": persistence, "threads": threads,
                "role": state.role() if state.role is not None else "active"}
        return JSONResponse(body, status_code=503 if stale or failing else 200)

    @app.get("/api/v1/status")
    def status() -> dict[str, Any]:
        return build_status(state.plan, state.loop.last_cycle, store_error=state.loop.store_error,
                            alerts=state.alerts)

    @app.get("/api/v1/query")
    def query(metric: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")],
              match: Annotated[list[str] | None, Query(max_length=20, description=MATCH_HELP)] = None,
              start: str | None = None, end: str | None = None,
              step: Annotated[float, Query(gt=0, le=86400 * 31)] = 60.0) -> dict[str, Any]:
        now = time.time()
        end_s = _time_param(end, now, "end", now)
        start_s = _time_param(start, end_s - 3600, "start", now)
        if start_s > end_s:
            raise HTTPException(400, "start must not be after end")
        if (end_s - start_s) / step > MAX_POINTS:
            raise HTTPException(400, f"too many points: (end-start)/step must be at most {MAX_POINTS}")
        matchers = _label_matchers(match)
        # Not under store_lock: the store locks itself per series, briefly (see MetricsStore.query),
        # so a long query never holds up the collection loop's append or maintenance.
        results = state.store.query(metric, matchers, start_s, end_s, step)
        return {"metric": metric, "start": start_s, "end": end_s, "step": step,
                "series": [_series_json(r) for r in results]}

    def render_overview(request: Request, template: str, lang: str | None) -> Response:
        def content(page: PageContext) -> dict[str, Any]:
            view = build_status(state.plan, state.loop.last_cycle, store_error=state.loop.store_error,
                                language=page.language, alerts=state.alerts, state_db=state.state_db)
            return {"s": view, "serve_role": state.role() if state.role is not None else None}

        return console.page(request, template, lang, content)

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, lang: str | None = None) -> Response:
        return render_overview(request, "status.html", lang)

    @app.get("/overview", response_class=HTMLResponse, include_in_schema=False)
    def overview_fragment(request: Request, lang: str | None = None) -> Response:
        """The overview alone: what htmx swaps in every interval (the page keeps its scroll position)."""
        return render_overview(request, "overview.html", lang)

    @app.exception_handler(StateUnavailable)
    @app.exception_handler(OperationalError)
    async def state_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        # A state database that cannot be opened or written (a full disk): one line, not a 500.
        return JSONResponse({"detail": f"state database unavailable: {describe(exc)}"}, status_code=503)

    for router in routers:  # one router per domain (alerts, backups, ...), each under /api/v1
        app.include_router(router)
    return app


def _series_json(result: Any) -> dict[str, Any]:
    labels = getattr(result, "labels", {})
    points = getattr(result, "points", [])
    return {"labels": dict(labels), "points": [list(p) if not isinstance(p, dict) else p for p in points]}
