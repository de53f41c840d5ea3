"""The model performance test (seed §4.2 성능 테스트): the plan's requests against a model server,
latency p50/p95 and throughput, compared with the baseline recorded for that version.

A baseline is recorded the first time a version passes the test (no errors) and is never moved
afterwards, so a version that slowly gets worse keeps being compared with how it first ran. It is
keyed by model, version and a hash of the test itself (requests, count, concurrency): a changed
test starts a new baseline instead of comparing different work.

A version's first test is compared with the figures recorded for the version serving now (the
`reference`), so a new version slower than what it replaces fails on its first test and records
nothing; only a first test with no figures to compare with (no version was ever tested) records
itself unchecked, and says so.

Comparison: a figure fails when it is worse than the baseline by more than `tolerance` percent
*and* by more than `slack` seconds. The slack keeps millisecond noise on a busy box from failing
a test whose requests take a few milliseconds; real prompts take far longer than the slack.
Throughput is compared as seconds per request (1 / throughput), so the same rule applies.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import DateTime, Float, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.plan.models import ModelPerf
from opsplan.store.state import Base, StateDB


class ModelPerfBaseline(Base):
    __tablename__ = "model_perf_baseline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(64))  # hash of the test (requests, count, concurrency)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the runbook run that recorded it
    requests: Mapped[int] = mapped_column(Integer)
    p50_seconds: Mapped[float] = mapped_column(Float)
    p95_seconds: Mapped[float] = mapped_column(Float)
    throughput: Mapped[float] = mapped_column(Float)  # requests per second


@dataclass
class PerfResult:
    requests: int           # answered with 2xx
    errors: int             # non-2xx, refused, timed out or not sent before the deadline
    p50_seconds: float
    p95_seconds: float
    throughput: float       # answered requests per second of wall time
    seconds: float
    first_error: str = ""
    statuses: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def profile_of(perf: ModelPerf) -> str:
    """The identity of a test: baselines of different tests are never compared."""
    text = json.dumps({"requests": [r.model_dump() for r in perf.requests], "count": perf.count,
                       "concurrency": perf.concurrency}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def run_perf(endpoint: str, perf: ModelPerf, *, transport: httpx.BaseTransport | None = None) -> PerfResult:
    """Send `perf.count` requests (the plan's list, repeated in order), `perf.concurrency` at a
    time, all within `perf.timeout`; requests not sent before the deadline count as errors."""
    base = endpoint.rstrip("/")
    deadline = time.monotonic() + perf.timeout
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    next_index = [0]

    def take() -> int | None:
        with lock:
            if next_index[0] >= perf.count:
                return None
            next_index[0] += 1
            return next_index[0] - 1

    def worker(client: httpx.Client) -> None:
        while (i := take()) is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with lock:
                    errors.append("deadline passed before the request was sent")
                continue
            req = perf.requests[i % len(perf.requests)]
            started = time.perf_counter()
            try:
                response = client.request(req.method, base + req.path, json=req.body, timeout=remaining)
                elapsed = time.perf_counter() - started
                key, ok = str(response.status_code), response.is_success
                problem = f"{req.method} {req.path}: HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                key, ok, problem = type(exc).__name__, False, f"{req.method} {req.path}: {type(exc).__name__}"
                elapsed = 0.0
            with lock:
                statuses[key] = statuses.get(key, 0) + 1
                if ok:
                    latencies.append(elapsed)
                else:
                    errors.append(problem)

    started = time.perf_counter()
    # trust_env=False: no proxy from the environment between opsplan and the model server
    with httpx.Client(transport=transport, trust_env=False) as client, \
            ThreadPoolExecutor(max_workers=perf.concurrency) as pool:
        for future in [pool.submit(worker, client) for _ in range(perf.concurrency)]:
            future.result()
    wall = time.perf_counter() - started
    return PerfResult(requests=len(latencies), errors=len(errors), p50_seconds=percentile(latencies, 50),
                      p95_seconds=percentile(latencies, 95),
                      throughput=len(latencies) / wall if wall > 0 else 0.0, seconds=wall,
                      first_error=errors[0] if errors else "", statuses=statuses)


def compare(result: PerfResult, baseline: ModelPerfBaseline, tolerance: float, slack: float) -> list[str]:
    """What is worse than the baseline beyond the tolerance (empty when the test passes)."""
    problems = []
    factor = 1 + tolerance / 100

    def worse(name: str, now: float, then: float) -> None:
        if now > then * factor and now - then > slack:
            problems.append(f"{name} {now * 1000:.0f} ms > baseline {then * 1000:.0f} ms + {tolerance:g}%")

    worse("p50", result.p50_seconds, baseline.p50_seconds)
    worse("p95", result.p95_seconds, baseline.p95_seconds)
    if result.throughput > 0 and baseline.throughput > 0:
        now, then = 1 / result.throughput, 1 / baseline.throughput
        if now > then * factor and now - then > slack:
            problems.append(f"throughput {result.throughput:.1f}/s < baseline {baseline.throughput:.1f}/s "
                            f"- {tolerance:g}%")
    return problems


def failures(result: PerfResult) -> list[str]:
    """Problems that fail a test whatever the baseline says."""
    if result.errors:
        return [f"{result.errors} of {result.requests + result.errors} requests failed ({result.first_error})"]
    return []


def get_baseline(db: StateDB, model: str, version: str, profile: str) -> ModelPerfBaseline | None:
    with db.session() as session:
        return session.scalars(select(ModelPerfBaseline).where(
            ModelPerfBaseline.model == model, ModelPerfBaseline.version == version,
            ModelPerfBaseline.profile == profile).order_by(ModelPerfBaseline.id)).first()


def record_baseline(db: StateDB, model: str, version: str, profile: str, result: PerfResult, *,
                    now: float, run_id: int | None) -> ModelPerfBaseline:
    row = ModelPerfBaseline(model=model, version=version, profile=profile,
                            recorded_at=datetime.fromtimestamp(now, UTC).replace(tzinfo=None), run_id=run_id,
                            requests=result.requests, p50_seconds=result.p50_seconds,
                            p95_seconds=result.p95_seconds, throughput=result.throughput)
    with db.session() as session:
        session.add(row)
    return row


def baselines(db: StateDB, model: str | None = None) -> list[ModelPerfBaseline]:
    with db.session() as session:
        query = select(ModelPerfBaseline)
        if model is not None:
            query = query.where(ModelPerfBaseline.model == model)
        return list(session.scalars(query.order_by(ModelPerfBaseline.id)))


def summary(result: PerfResult) -> str:
    return (f"{result.requests} requests: p50 {result.p50_seconds * 1000:.0f} ms, "
            f"p95 {result.p95_seconds * 1000:.0f} ms, {result.throughput:.1f}/s")


def measure_and_compare(db: StateDB, model: str, version: str, endpoint: str, perf: ModelPerf, *,
                        clock: Callable[[], float], run_id: int | None,
                        reference: str | None = None) -> tuple[bool, str, dict]:
    """Run the test and compare it with the version's baseline; on its first test, with the
    baseline of `reference` (the serving version), recording its own only when it passes.
    Returns (passed, one line for the journal, figures for the report)."""
    result = run_perf(endpoint, perf)
    profile = profile_of(perf)
    data: dict = {"perf": result.as_dict()}
    problems = failures(result)
    if problems:
        return False, "; ".join(problems), data
    baseline = get_baseline(db, model, version, profile)
    against = "the baseline"
    if baseline is None and reference is not None and reference != version:
        baseline = get_baseline(db, model, reference, profile)
        against = f"the figures of {reference} (serving)"
        data["baseline_version"] = reference
    if baseline is None:
        record_baseline(db, model, version, profile, result, now=clock(), run_id=run_id)
        data["baseline_recorded"] = True
        return True, (f"{summary(result)}; first test of {version} and no figures of the serving version to "
                      "compare with: recorded as its baseline"), data
    data["baseline"] = {"p50_seconds": baseline.p50_seconds, "p95_seconds": baseline.p95_seconds,
                        "throughput": baseline.throughput}
    problems = compare(result, baseline, perf.tolerance, perf.slack)
    if problems:
        return False, f"{summary(result)}; compared with {against}: " + "; ".join(problems), data
    if baseline.version != version:  # a first test that held up: from now on compared with itself
        record_baseline(db, model, version, profile, result, now=clock(), run_id=run_id)
        data["baseline_recorded"] = True
    return True, f"{summary(result)}; within {perf.tolerance:g}% of {against}", data
