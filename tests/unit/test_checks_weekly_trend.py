"""performance.trend (seed §2.2 성능 트렌드 분석): two weeks in a real metrics store, compared week
over week: a latency step in week 2 is flagged with both weeks' figures and a chart of both weeks
laid over each other; a steady week passes; no history is not-run, never a pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsplan.checks import registry
from opsplan.checks.model import NOT_RUN, PASS, WARN, CheckContext
from opsplan.metrics import sample
from opsplan.plan.models import Plan
from opsplan.store import MetricsStore

HOUR, WEEK = 3600.0, 7 * 86400.0
T0 = 1_795_003_200.0  # a multiple of 3600: hourly buckets line up with the samples


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def fill(path: Path, latency: tuple[float, float], *, cpu: tuple[float, float] = (0.30, 0.31)) -> MetricsStore:
    """Two weeks, one sample every 15 minutes: week 1 then week 2 values of p95 latency and CPU."""
    store = MetricsStore(path, clock=Clock(T0 + 2 * WEEK), sync=True)
    t = T0
    while t < T0 + 2 * WEEK:
        week = 0 if t < T0 + WEEK else 1
        wobble = 0.01 * ((t // 900) % 3)  # not a flat line
        store.append(t, [
            sample("opsplan_api_response_seconds", latency[week] + wobble, service="llm-api", quantile="0.95"),
            sample("opsplan_api_response_seconds", 0.05, service="llm-api", quantile="0.5"),
            sample("opsplan_api_requests_per_second", 12.0 + wobble, service="llm-api"),
            sample("opsplan_api_error_ratio", 0.002, service="llm-api"),
            sample("opsplan_group_gpu_utilization_ratio", 0.6, group="ai"),
            sample("opsplan_cpu_usage_ratio", cpu[week]),
        ])
        t += 900
    return store


def context(store: MetricsStore | None) -> CheckContext:
    return CheckContext(plan=Plan(), period="weekly", start=T0 + WEEK, end=T0 + 2 * WEEK, now=T0 + 2 * WEEK,
                        store=store)


def test_a_latency_step_in_week_two_is_flagged_with_both_weeks_and_a_chart(tmp_path):
    with fill(tmp_path / "m", latency=(0.200, 0.350)) as store:
        result = registry.evaluate("performance.trend", context(store))
    assert result.status == WARN
    assert [f.key for f in result.findings] == ["checks.trend.rose.latency"]
    rose = result.findings[0].values
    assert rose["subject"] == "llm-api (app)"  # the service with its plan group
    assert (rose["last_week"], rose["this_week"], rose["change"]) == ("210 ms", "360 ms", "71%")
    latency = next(f for f in result.figures if f.name.key == "checks.trend.metric.latency")
    assert latency.value == pytest.approx(0.36) and latency.previous == pytest.approx(0.21)
    assert latency.unit == "seconds"

    chart = next(c for c in result.charts if c.title.key == "checks.trend.metric.latency")
    this_week, last_week = chart.series
    assert len(this_week.points) == len(last_week.points) == 168  # hourly, seven days
    # last week is drawn over this week: the same times, its own values
    assert [t for t, _ in this_week.points] == [t for t, _ in last_week.points]
    assert this_week.points[0][0] == T0 + WEEK
    assert min(v for _, v in this_week.points) > max(v for _, v in last_week.points)
    assert this_week.label.endswith("~") is False and this_week.label != last_week.label
    # the other figures were compared too, and stayed put
    keys = {f.name.key for f in result.figures}
    assert {"checks.trend.metric.throughput", "checks.trend.metric.errors", "checks.trend.metric.gpu",
            "checks.trend.metric.cpu"} <= keys
    assert result.summary.values["flagged"] == 1


def test_a_steady_week_passes_and_a_small_rise_under_the_floor_is_noise(tmp_path):
    with fill(tmp_path / "m", latency=(0.020, 0.026), cpu=(0.30, 0.32)) as store:  # +30% but only 6 ms
        result = registry.evaluate("performance.trend", context(store))
    assert result.status == PASS and result.findings == []


def test_the_plan_sets_how_big_a_step_is_flagged(tmp_path):
    plan = Plan.model_validate({"checks": {"trend_step": 50}})
    with fill(tmp_path / "m", latency=(0.200, 0.260)) as store:  # +29%
        ctx = context(store)
        ctx.plan = plan
        assert registry.evaluate("performance.trend", ctx).status == PASS
        ctx.plan = Plan()
        assert registry.evaluate("performance.trend", ctx).status == WARN


def test_without_two_weeks_of_data_it_is_not_run(tmp_path):
    empty = MetricsStore(tmp_path / "m", clock=Clock(T0))
    with empty:
        result = registry.evaluate("performance.trend", context(empty))
    assert result.status == NOT_RUN and result.reason is not None and result.reason.key == "checks.trend.no_data"
    none = registry.evaluate("performance.trend", context(None))
    assert none.status == NOT_RUN and none.reason is not None and none.reason.key == "checks.trend.no_store"


def test_a_groups_cpu_from_its_members_cgroup_counters_is_compared_too(tmp_path):
    """CPU per group: the rate of its members' cpu-seconds counters over the host's CPUs."""
    with MetricsStore(tmp_path / "m", clock=Clock(T0 + 2 * WEEK), sync=True) as store:
        used, t = 0.0, T0
        while t < T0 + 2 * WEEK:
            cores_busy = 0.5 if t < T0 + WEEK else 1.5  # of 4 CPUs: 12.5% then 37.5%
            used += cores_busy * 900
            store.append(t, [sample("opsplan_group_member_cpu_seconds_total", used, group="ai", member="vllm"),
                             sample("opsplan_cpu_count", 4)])
            t += 900
        result = registry.evaluate("performance.trend", context(store))
    cpu = next(f for f in result.figures if f.name.key == "checks.trend.metric.cpu")
    assert cpu.name.values == {"subject": "ai"}
    assert cpu.previous == pytest.approx(0.125) and cpu.value == pytest.approx(0.375)
    assert result.status == WARN
    assert [(f.key, f.values["subject"]) for f in result.findings] == [("checks.trend.rose.cpu", "ai")]
