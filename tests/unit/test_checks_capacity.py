"""Capacity planning (monthly, seed §2.2) against a real metrics store filled with series whose
answer is known: a disk growing 10 GB a day with noise and scratch-file spikes, a flat one, one
already over its line, and a group's storage budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from opsplan.checks import forecast, registry
from opsplan.checks.model import FAIL, NOT_RUN, WARN, CheckContext, ItemResult
from opsplan.i18n import t
from opsplan.metrics import sample
from opsplan.plan.models import Plan
from opsplan.store import MetricsStore

DAY = 86400.0
T0 = 1_780_000_000.0 - 1_780_000_000.0 % DAY  # a UTC midnight, so store days are whole days
DAYS = 120
TB, GB = 1e12, 1e9
SIZE = 4 * TB  # the disk


def growing_disk(rng: np.random.Generator, day: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """2 TB + 10 GB/day, day-to-day noise of 15 GB (what is on the disk that day), and ten mornings
    in the last month when a 400 GB scratch file sat on the disk for a few hours (daily maxima see
    it; least squares then tilts)."""
    used = 2 * TB + 10 * GB * (day + hour / 24) + rng.normal(0, 15 * GB, DAYS)[day]
    spikes = set(range(DAYS - 28, DAYS, 3))
    hit = np.array([d in spikes and h == 6 for d, h in zip(day.tolist(), hour.tolist(), strict=True)])
    return used + np.where(hit, 400 * GB, 0.0)


def fill(path: Path, mounts: dict[str, np.ndarray | float], *, group_storage: float | None = None) -> MetricsStore:
    """Four readings a day for DAYS days of opsplan_disk_used_bytes/_total_bytes per mount."""
    store = MetricsStore(path, clock=lambda: T0 + DAYS * DAY, sync=False)
    steps = DAYS * 4
    day = np.arange(steps) // 4
    hour = (np.arange(steps) % 4) * 6
    rng = np.random.default_rng(14)
    series = {m: (v(rng, day, hour) if callable(v) else np.full(steps, float(v))) for m, v in mounts.items()}
    for k in range(steps):
        batch = []
        for mount, used in series.items():
            batch += [sample("opsplan_disk_used_bytes", used[k], mountpoint=mount),
                      sample("opsplan_disk_total_bytes", SIZE, mountpoint=mount)]
        if group_storage is not None:
            batch.append(sample("opsplan_group_storage_used_bytes", group_storage + 2 * GB * day[k], group="ai"))
        store.append(T0 + day[k] * DAY + hour[k] * 3600, batch)
    return store


def run(store: MetricsStore | None, plan: Plan | None = None, previous: ItemResult | None = None) -> ItemResult:
    end = T0 + DAYS * DAY
    ctx = CheckContext(plan=plan or Plan(), period="monthly", start=end - 30 * DAY, end=end, now=end,
                       store=store, previous=lambda _item: previous)
    return registry.evaluate("capacity.planning", ctx)


def rendered(result: ItemResult, language: str) -> list[str]:
    return [t(line.key, language, **line.values) for line in result.findings]


def test_a_disk_growing_10_gb_a_day_reaches_90_percent_within_the_band_where_least_squares_misses(tmp_path):
    with fill(tmp_path / "m", {"/data": growing_disk, "/": 0.5 * SIZE}) as store:
        result = run(store)
        found = store.query("opsplan_disk_used_bytes", {"mountpoint": "/data"}, T0, T0 + DAYS * DAY, DAY)[0]
    # The true line: 2 TB + 10 GB/day reaches 90 % of 4 TB (3.6 TB) on day 160 (+ the day's 18 h peak).
    truth = T0 + (160 - 18 / 24) * DAY
    now = T0 + DAYS * DAY
    fit_points = forecast.daily_maxima(found.points)
    fit = forecast.theil_sen(*fit_points)
    robust = forecast.crossing(fit, 0.9 * SIZE, float(fit_points[1][-1]), now)
    assert robust.outcome == forecast.DATE and robust.earliest is not None and robust.latest is not None
    assert robust.earliest <= truth <= robust.latest
    assert abs(robust.when - truth) < 3 * DAY
    slope, intercept = forecast.least_squares(*fit_points)
    naive = forecast.line_reaches(intercept, slope, float(fit_points[0][0]), 0.9 * SIZE)
    assert naive is not None and abs(naive - truth) > 3 * abs(robust.when - truth)
    assert not robust.earliest <= naive <= robust.latest  # the spikes pushed least squares out of the band

    # What the operator reads: critical 90 % within 90 days is a warning, with the date in both languages.
    assert result.status == WARN
    date = forecast_date(robust.when)
    english = rendered(result, "en")
    assert any("Disk /data" in line and "90%" in line and date in line for line in english), english
    korean = rendered(result, "ko")
    assert any("디스크 /data" in line and date in line and "신뢰 구간" in line for line in korean), korean
    # The flat root disk holds the backup directory: it is the backup store, and it never gets there.
    assert any(line.startswith("Backup store / is not growing") for line in english), english
    chart = next(c for c in result.charts if c.title.values == {"mount": "/data"})
    assert chart.band is not None and len(chart.band[0].points) == len(chart.series[1].points)
    assert [name.values["level"] for name, _ in chart.thresholds] == ["80%", "90%", "100%"]
    assert chart.series[1].points[-1][0] >= robust.latest  # the line is drawn past the crossing


def forecast_date(ts: float) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ts, ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%d")


def test_a_disk_already_above_its_critical_line_fails_and_a_flat_one_never_reaches_it(tmp_path):
    with fill(tmp_path / "m", {"/srv/full": 0.95 * SIZE, "/": 0.3 * SIZE}) as store:
        result = run(store)
    assert result.status == FAIL
    english = rendered(result, "en")
    assert english[0] == "Disk /srv/full is already 90% full or more (growing 0 B a day).", english
    assert any("Backup store / is not growing" in line for line in english)
    figure = next(f for f in result.figures if f.name.values == {"mount": "/srv/full"})
    assert figure.value == pytest.approx(0.95 * SIZE) and figure.threshold == pytest.approx(0.9 * SIZE)


def test_a_group_is_measured_against_its_budget_and_last_months_figure_is_kept(tmp_path):
    plan = Plan()
    plan.allocation[0].storage = int(1.5 * TB)  # 1.3 TB + 2 GB/day: 90 % (1.35 TB) in about 25 days
    with fill(tmp_path / "m", {}, group_storage=1.3 * TB - DAYS * 2 * GB) as store:
        first = run(store, plan)
        again = run(store, plan, previous=first)
    assert first.status == FAIL  # the critical line within 30 days
    assert any(line.startswith("Group ai storage is expected to reach 90% of its budget on")
               for line in rendered(first, "en"))
    figure = next(f for f in again.figures if f.name.key == "checks.capacity.storage.title")
    assert figure.previous == pytest.approx(first.figures[0].value)


def test_without_a_store_or_history_it_is_not_run_never_pass(tmp_path):
    assert run(None).status == NOT_RUN
    with MetricsStore(tmp_path / "m", clock=lambda: T0, sync=False) as store:
        store.append(T0, [sample("opsplan_disk_used_bytes", 1.0, mountpoint="/")])
        result = run(store)
    assert result.status == NOT_RUN and result.reason is not None
    assert "7" in t(result.reason.key, "en", **result.reason.values)


def test_the_whole_result_reads_as_korean_and_survives_storage(tmp_path):
    import json

    from unit.test_korean_text import english_words

    with fill(tmp_path / "m", {"/data": growing_disk, "/": 0.5 * SIZE, "/srv/full": 0.95 * SIZE},
              group_storage=1.0 * TB) as store:
        result = run(store)
    lines = [result.summary, *result.findings, *(f.name for f in result.figures), *(c.title for c in result.charts),
             *(name for c in result.charts for name, _ in c.thresholds)]
    korean = [t(line.key, "ko", **line.values) for line in lines]
    assert not [(text, english_words(text)) for text in korean if english_words(text)]
    assert ItemResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
