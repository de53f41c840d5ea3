"""A dead thread is not a silent one (issue 9, item 5): when the collection loop, the scheduler or the
notifier dies for real (an error escapes its run loop), /healthz answers 503 naming it, the thread is
restarted with backoff, the cause is logged once with its traceback, and /healthz is 200 again once it
runs. A cycle hook (the alert rules) failing cycle after cycle is reported the same way."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsplan.alerts.events import AlertNotice
from opsplan.collectors.runner import CollectionRunner
from opsplan.jobs import Job
from opsplan.metrics import Cycle
from opsplan.metrics.exposition import LatestSamples
from opsplan.notify.delivery import SendResult
from opsplan.notify.service import Notifier
from opsplan.plan.models import Plan, Text
from opsplan.serve.loop import HOOK_FAILURES_UNHEALTHY, CollectionLoop
from opsplan.serve.scheduler import Scheduler
from opsplan.serve.supervisor import Backoff, Supervised, Supervisor, supervise
from opsplan.stages.all import metric_registry
from opsplan.stages.part import Worker
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from opsplan.web.app import ServeState, create_app

# Short enough for a test, long enough to see the 503 between a death and the restart.
BACKOFF = Backoff(initial=0.6, maximum=2.4, healthy_after=30.0)


class Crash(BaseException):
    """What `except Exception` in a run loop lets through (as SystemExit or a C extension's error would)."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricsStore]:
    with MetricsStore(tmp_path / "metrics") as st:
        yield st


class Running:
    """A serve in-process: the real loop, scheduler and workers under serve's own `supervise`, and the app."""

    def __init__(self, store: MetricsStore, *, hooks: Sequence[Callable[[Cycle], None]] = (),
                 scheduler: Scheduler | None = None, workers: Sequence[Worker] = (), plan: Plan | None = None):
        self.plan = plan or Plan()
        lock = threading.Lock()
        latest = LatestSamples(metric_registry())
        self.loop = CollectionLoop(CollectionRunner([], deadline=1.0), store, latest, interval=0.1,
                                   store_lock=lock, after_cycle=list(hooks))
        self.supervisor = supervise(self.loop, scheduler, list(workers), backoff=BACKOFF)
        app = create_app(ServeState(plan=self.plan, latest=latest, loop=self.loop, store=store, store_lock=lock,
                                    threads=self.supervisor))
        self.client = TestClient(app, base_url="http://127.0.0.1:8080")

    def __enter__(self) -> Running:
        self.supervisor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.supervisor.stop()
        self.loop.runner.close()

    def health(self) -> tuple[int, dict]:
        response = self.client.get("/healthz")
        return response.status_code, response.json()

    def wait_health(self, wanted: Callable[[int, dict], bool], timeout: float = 15.0) -> tuple[int, dict]:
        deadline = time.monotonic() + timeout
        code, body = self.health()
        while not wanted(code, body):
            assert time.monotonic() < deadline, f"/healthz never got there: {code} {body}"
            time.sleep(0.03)
            code, body = self.health()
        return code, body


def failing(times: int, exc: Callable[[], BaseException]) -> Callable[[], None]:
    """Raises `exc()` the first `times` calls, then does nothing."""
    calls = [0]

    def maybe_raise() -> None:
        calls[0] += 1
        if calls[0] <= times:
            raise exc()

    return maybe_raise


def deaths_logged(caplog: pytest.LogCaptureFixture, thread: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(f"thread {thread} died:")]


def test_a_dead_collection_loop_is_a_503_then_restarts_and_the_cause_is_logged_once(store, caplog):
    cycles: list[float] = []
    crash = failing(3, lambda: Crash("the alert rules pulled the plug"))

    def alert_rules(cycle: Cycle) -> None:
        cycles.append(cycle.timestamp)
        if len(cycles) >= 2:  # the first cycle works, then three in a row end the loop's thread
            crash()

    with caplog.at_level(logging.DEBUG, logger="opsplan.serve"), Running(store, hooks=[alert_rules]) as serve:
        code, body = serve.wait_health(lambda c, b: c == 503 and b["threads"])
        assert "collection loop: died: Crash: the alert rules pulled the plug; restarting in" in body["threads"]
        assert body["status"] == "degraded"
        # Restarted (three deaths, backoff 0.6, 1.2, 2.4 s), it collects again and /healthz is 200.
        code, body = serve.wait_health(lambda c, b: c == 200)
        assert body["threads"] is None and body["status"] == "ok"
        before = len(cycles)
        serve.wait_health(lambda c, b: len(cycles) >= before + 3)
        restarts = serve.supervisor.threads[0].restarts
    assert restarts == 3
    logged = deaths_logged(caplog, "collection loop")
    assert len(logged) == 1, [r.getMessage() for r in logged]  # once per cause, not once per restart
    assert logged[0].levelno == logging.ERROR and logged[0].exc_info is not None  # with its traceback
    assert "Crash: the alert rules pulled the plug" in logged[0].getMessage()


def test_a_cycle_hook_failing_cycle_after_cycle_is_a_503_until_it_works(store, caplog):
    calls = [0]

    def alert_rules(cycle: Cycle) -> None:
        calls[0] += 1
        if calls[0] <= 8:
            raise ValueError("rule cpu_usage_high: threshold is not a number")

    with caplog.at_level(logging.INFO, logger="opsplan.serve"), Running(store, hooks=[alert_rules]) as serve:
        code, body = serve.wait_health(lambda c, b: c == 503)
        assert calls[0] >= HOOK_FAILURES_UNHEALTHY
        assert body["threads"] == (f"cycle hook alert_rules: failed {HOOK_FAILURES_UNHEALTHY} cycles in a row: "
                                   "ValueError: rule cpu_usage_high: threshold is not a number")
        serve.wait_health(lambda c, b: c == 200)
        assert calls[0] > 8
    failures = [r for r in caplog.records if r.getMessage().startswith("cycle hook alert_rules failed")]
    assert len(failures) == 1 and failures[0].exc_info is not None  # eight failures, one traceback
    assert any("cycle hook alert_rules works again (it had failed 8 cycle(s) in a row" in r.getMessage()
               for r in caplog.records)


def test_a_dead_scheduler_is_a_503_then_restarts_and_runs_its_job(store, caplog):
    start = time.time()
    ticks = [0]
    ran = threading.Event()

    def clock() -> float:
        # The scheduler's own time source; three reads in a row fail as a thread that cannot be
        # started does ("can't start new thread"), which nothing in its loop catches.
        ticks[0] += 1
        if 2 <= ticks[0] <= 4:
            raise RuntimeError("can't start new thread")
        return start + 60 * (ticks[0] > 4)

    scheduler = Scheduler([Job("backup-db", "* * * * *", ran.set)], timezone="Asia/Seoul", clock=clock)
    with caplog.at_level(logging.DEBUG, logger="opsplan.serve"), Running(store, scheduler=scheduler) as serve:
        code, body = serve.wait_health(lambda c, b: c == 503 and b["threads"])
        assert body["threads"].startswith("scheduler: died: RuntimeError: can't start new thread; restarting in")
        serve.wait_health(lambda c, b: c == 200, timeout=20)
        assert ran.wait(10)  # the job the plan scheduled runs once the scheduler is back
    assert len(deaths_logged(caplog, "scheduler")) == 1


def notice() -> AlertNotice:
    return AlertNotice(kind="firing", fingerprint="api-down-llm", alert="ApiDown", severity="critical",
                       labels={"alert": "ApiDown", "severity": "critical", "service": "llm-api"}, subject="llm-api",
                       summary=Text(ko="API 응답 없음", en="API down"), description=Text(ko="llm-api", en="llm-api"),
                       value=0.0, threshold=1.0, for_s=60.0, started_at=time.time(), annotations={})


def test_a_dead_notifier_is_a_503_then_restarts_and_delivers_once(store, tmp_path, caplog):
    plan = Plan.model_validate({"language": "en", "notifications": {"channels": [
        {"name": "ops-hook", "kind": "webhook", "url_env": "HOOK_URL"}]}})
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    sent: list[str] = []
    crash = failing(2, lambda: Crash("apprise plugin called exit()"))

    def sender(url: str, title: str, body: str, kind: str) -> SendResult:
        crash()  # twice: inside the delivery round, where only Exception is caught
        sent.append(title)
        return SendResult(True)

    notifier = Notifier(plan, db, environ={"HOOK_URL": "json://127.0.0.1:9/hook"}, sender=sender)
    worker = Worker("notifier", "opsplan-notify", notifier.run, notifier.request_stop)
    try:
        with caplog.at_level(logging.DEBUG, logger="opsplan.serve"), \
                Running(store, workers=[worker], plan=plan) as serve:
            serve.wait_health(lambda c, b: c == 200)
            notifier.submit(notice())
            code, body = serve.wait_health(lambda c, b: c == 503 and b["threads"])
            assert body["threads"].startswith("notifier: died: Crash: apprise plugin called exit(); restarting in")
            serve.wait_health(lambda c, b: c == 200 and bool(sent))
            time.sleep(0.3)
        assert len(sent) == 1 and "ApiDown" in sent[0]  # delivered once the notifier is back, and once only
    finally:
        notifier.stop()
        db.close()
    assert len(deaths_logged(caplog, "notifier")) == 1


def test_backoff_doubles_to_its_maximum_and_starts_over_after_a_healthy_run(caplog):
    assert [Backoff().delay(n) for n in (1, 2, 3, 9, 10, 200)] == [1, 2, 4, 256, 300, 300]
    now = [0.0]
    runs = [0]
    done = threading.Event()

    def target() -> None:
        runs[0] += 1
        if runs[0] == 4:
            now[0] += 700  # the fourth run is healthy for a long while before it dies
        if runs[0] == 6:
            done.set()
            thread.stop(timeout=0)
            return
        raise ValueError("boom")

    backoff = Backoff(initial=0.01, maximum=0.04, healthy_after=600.0)
    thread = Supervised("toy", target, stop=lambda: None, backoff=backoff, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="opsplan.serve"):
        thread.start()
        assert done.wait(5)
        thread.stop()
    assert list(thread.recent_delays) == [0.01, 0.02, 0.04, 0.01, 0.02]  # after the healthy run: from the start
    assert len(deaths_logged(caplog, "toy")) == 2  # "ValueError: boom" again after a healthy run is news


def test_a_supervisor_with_nothing_wrong_says_nothing():
    supervisor = Supervisor(checks=[dict])
    stop = threading.Event()
    supervisor.add(Supervised("idle", stop.wait, stop=stop.set))
    supervisor.start()
    try:
        assert supervisor.summary() is None
    finally:
        supervisor.stop()
    assert supervisor.summary() is None  # stopped on purpose is not dead
