"""The model performance test: percentiles, the baseline comparison and a real run against a
local HTTP server (no timing assertions: only counts, statuses and the comparison rule)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from opsplan.plan.models import ModelPerf, PerfRequest
from opsplan.runbooks.rollback.perf import (
    ModelPerfBaseline,
    PerfResult,
    baselines,
    compare,
    failures,
    get_baseline,
    measure_and_compare,
    percentile,
    profile_of,
    record_baseline,
)
from opsplan.store.state import StateDB


def result(p50: float, p95: float, throughput: float) -> PerfResult:
    return PerfResult(requests=10, errors=0, p50_seconds=p50, p95_seconds=p95, throughput=throughput, seconds=1.0)


def baseline(p50: float, p95: float, throughput: float) -> ModelPerfBaseline:
    return ModelPerfBaseline(p50_seconds=p50, p95_seconds=p95, throughput=throughput)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50.0, 95.0, 100.0)
    assert percentile([3.0], 95) == 3.0 and percentile([], 50) == 0.0


def test_slower_than_tolerance_and_slack_fails() -> None:
    base = baseline(1.0, 2.0, 10.0)
    assert compare(result(1.19, 2.3, 9.0), base, tolerance=20, slack=0.05) == []
    problems = compare(result(1.5, 2.0, 10.0), base, tolerance=20, slack=0.05)
    assert len(problems) == 1 and problems[0].startswith("p50 1500 ms > baseline 1000 ms")
    assert any(p.startswith("throughput") for p in compare(result(1.0, 2.0, 5.0), base, tolerance=20, slack=0.05))


def test_millisecond_noise_within_the_slack_passes() -> None:
    # 2 ms -> 5 ms is +150 %, but 3 ms is noise on a busy box, not a slower model
    assert compare(result(0.005, 0.006, 300.0), baseline(0.002, 0.003, 600.0), tolerance=20, slack=0.05) == []


def test_a_changed_test_is_a_different_profile() -> None:
    one = ModelPerf()
    assert profile_of(one) == profile_of(ModelPerf())
    assert profile_of(one) != profile_of(ModelPerf(count=40))
    assert profile_of(one) != profile_of(ModelPerf(requests=[PerfRequest(method="POST", path="/v1/completions",
                                                                         body={"prompt": "hi"})]))


@pytest.fixture
def server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(500 if self.path == "/broken" else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_first_run_records_the_baseline_then_compares(server: str, tmp_path) -> None:
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    perf = ModelPerf(count=6, concurrency=3, requests=[PerfRequest(path="/v1/models")])
    ok, line, data = measure_and_compare(db, "llm", "v1", server, perf, clock=lambda: 1_700_000_000.0, run_id=7)
    assert ok and "recorded as its baseline" in line and data["perf"]["requests"] == 6
    stored = get_baseline(db, "llm", "v1", profile_of(perf))
    assert stored is not None and stored.run_id == 7 and stored.requests == 6
    # The comparison rule, not this busy machine's timing: a baseline far slower than any local
    # answer passes, one far faster than any fails (set on the stored row, which stays run 7's).
    set_baseline(db, profile_of(perf), p50=10.0, p95=10.0, throughput=0.001)
    ok, line, data = measure_and_compare(db, "llm", "v1", server, perf, clock=lambda: 1_700_000_100.0, run_id=8)
    assert ok and "within 20% of the baseline" in line and "baseline" in data
    assert get_baseline(db, "llm", "v1", profile_of(perf)).run_id == 7  # the first one stays
    set_baseline(db, profile_of(perf), p50=1e-6, p95=1e-6, throughput=1e9)
    strict = perf.model_copy(update={"slack": 0.0})  # the same test, no noise allowance
    ok, line, _ = measure_and_compare(db, "llm", "v1", server, strict, clock=lambda: 1_700_000_200.0, run_id=9)
    assert not ok and "baseline" in line
    db.close()


def set_baseline(db: StateDB, profile: str, *, p50: float, p95: float, throughput: float) -> None:
    with db.session() as session:
        row = session.scalars(select(ModelPerfBaseline).where(ModelPerfBaseline.profile == profile)).one()
        row.p50_seconds, row.p95_seconds, row.throughput = p50, p95, throughput


def test_a_first_test_is_judged_by_the_serving_version_and_then_keeps_its_own(server: str, tmp_path) -> None:
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    perf = ModelPerf(count=4, concurrency=2, requests=[PerfRequest(path="/v1/models")])
    profile = profile_of(perf)
    # The serving version's baseline, slower than any local answer (the rule is tested above, not the
    # timing of this shared machine).
    record_baseline(db, "llm", "v1", profile, result(10.0, 10.0, 0.001), now=0.0, run_id=1)

    ok, line, data = measure_and_compare(db, "llm", "v2", server, perf, clock=lambda: 10.0, run_id=2,
                                         reference="v1")

    assert ok and "of v1 (serving)" in line and data["baseline_version"] == "v1"
    assert [(b.version, b.run_id) for b in baselines(db)] == [("v1", 1), ("v2", 2)]
    db.close()


def test_a_first_test_slower_than_the_serving_version_fails_and_records_nothing(server: str, tmp_path) -> None:
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    perf = ModelPerf(count=4, concurrency=2, slack=0.0, requests=[PerfRequest(path="/v1/models")])
    record_baseline(db, "llm", "v1", profile_of(perf), result(1e-6, 1e-6, 1e6), now=0.0, run_id=1)

    ok, line, _ = measure_and_compare(db, "llm", "v2", server, perf, clock=lambda: 10.0, run_id=2, reference="v1")

    assert not ok and "compared with the figures of v1 (serving)" in line and "p50" in line
    assert [b.version for b in baselines(db)] == ["v1"]
    db.close()


def test_errors_fail_whatever_the_baseline(server: str, tmp_path) -> None:
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    perf = ModelPerf(count=4, concurrency=2, requests=[PerfRequest(path="/v1/models"), PerfRequest(path="/broken")])
    ok, line, data = measure_and_compare(db, "llm", "v1", server, perf, clock=lambda: 0.0, run_id=None)
    assert not ok and line == "2 of 4 requests failed (GET /broken: HTTP 500)"
    assert data["perf"]["statuses"] == {"200": 2, "500": 2}
    assert get_baseline(db, "llm", "v1", profile_of(perf)) is None  # a failing run is no baseline
    refused = failures(PerfResult(0, 3, 0, 0, 0, 0, "GET /v1/models: ConnectError"))
    assert refused == ["3 of 3 requests failed (GET /v1/models: ConnectError)"]
    db.close()
