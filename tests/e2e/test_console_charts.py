"""The Metrics page in a real browser (Debian's chromium through Playwright) against a real `opsplan
serve` (tests/browser.py: Korean plan, no services, no GPU, MariaDB unreachable): the CPU chart
draws from the store through /api/v1/query with the plan's thresholds as legend entries and
lines, each chart has a text summary or says why it is empty, the range picker changes what is
asked, the Korean page has no English left, every control is reachable with Tab, the script
writes values as format.py does, and without JavaScript the page says so and still lists the
thresholds."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from browser import artifacts, chromium, console_url, log_in, unreachable_by_tab  # noqa: F401
from opsplan.web.console.chart_specs import shown
from serve_process import wait_for_cycles
from unit.test_korean_text import english_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EMPTY_KO = "이 기간에는 아직 데이터가 없습니다."


@pytest.fixture
def page(chromium, console_url):  # noqa: F811 - the fixtures imported above
    """A browser tab logged in as the console's viewer, with two cycles stored (a line, not a dot)."""
    wait_for_cycles(console_url, 2, timeout=60)
    context = chromium.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    log_in(tab, console_url)
    yield tab
    context.close()


def open_charts(page, url: str, query: str = "?lang=ko") -> None:
    answer = page.goto(url + "charts" + query)
    assert answer is not None and answer.ok
    page.wait_for_selector("#charts[data-loaded]", timeout=30_000)


def canvas_colours(page, selector: str) -> dict:
    """What the chart's canvas holds: its distinct colours and how many pixels are threshold red."""
    return page.evaluate("""selector => {
        const canvas = document.querySelector(selector + ' canvas');
        const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const seen = new Set(); let red = 0;
        for (let i = 0; i < px.length; i += 4) {
            if (px[i + 3] === 0) continue;
            seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
            if (px[i] > 140 && px[i + 1] < 60 && px[i + 2] < 80) red++;
        }
        return {colours: seen.size, red: red};
    }""", selector)


def test_the_cpu_chart_draws_with_the_plans_thresholds_and_a_summary(page, console_url, tmp_path: Path):  # noqa: F811
    errors: list[str] = []  # a script error or a style the page's policy refused
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_charts(page, console_url)
    cpu = page.locator("#chart-cpu")
    assert cpu.get_attribute("data-state") == "drawn"
    assert page.locator("#chart-cpu canvas").count() >= 1
    drawn = canvas_colours(page, "#chart-cpu")
    assert drawn["colours"] > 5 and drawn["red"] > 50, drawn  # data, axes, and the critical line
    legend = page.locator("#chart-cpu .u-legend").inner_text()
    assert "Warning 80% (CpuUsageHigh)" in legend and "Critical 90% (CpuUsageHigh)" in legend
    summary = page.locator("#summary-cpu").inner_text()
    assert summary.startswith("CPU: 마지막 값 ") and " KST), 최소 " in summary and "최대 " in summary, summary
    # No GPU and no group members on this machine: those charts say so instead of a blank box.
    assert page.locator("#chart-gpu-0-util").get_attribute("data-state") == "empty"
    assert page.locator("#chart-gpu-0-util .plot").inner_text() == EMPTY_KO
    assert "구성원(members)" in page.locator("#summary-group-ai-memory").inner_text()
    assert "감시할 서비스가 없습니다" in page.locator("#section-services").inner_text()
    page.screenshot(path=str(artifacts(tmp_path) / "charts-ko.png"), full_page=True)
    assert errors == []


def test_the_range_picker_changes_the_query(page, console_url):  # noqa: F811
    asked: list[dict] = []
    page.on("request", lambda r: asked.append(parse_qs(urlparse(r.url).query)) if "/api/v1/query" in r.url else None)
    open_charts(page, console_url)
    cpu = [q for q in asked if q["metric"] == ["opsplan_cpu_usage_ratio"]]
    assert cpu and cpu[-1]["start"] == ["now-1h"] and cpu[-1]["step"] == ["15"]
    asked.clear()
    with page.expect_navigation():
        page.click("a[data-range='6h']")
    page.wait_for_selector("#charts[data-loaded]", timeout=30_000)
    cpu = [q for q in asked if q["metric"] == ["opsplan_cpu_usage_ratio"]]
    assert cpu and cpu[-1]["start"] == ["now-6h"] and cpu[-1]["step"] == ["60"]
    assert page.locator("a[data-range='6h']").get_attribute("aria-current") == "true"
    gpu = [q for q in asked if q["metric"] == ["opsplan_gpu_temperature_celsius"]]
    assert ["gpu=1"] in [q["match"] for q in gpu]


def test_the_korean_page_has_no_english_leftovers(page, console_url):  # noqa: F811
    open_charts(page, console_url)
    text = page.inner_text("body")
    words = [w for w in english_words(text) if w != socket.gethostname()]
    assert words == [], [line for line in text.splitlines() if any(w in line for w in words)]
    assert page.title() and not english_words(page.title())


def test_every_control_is_reachable_with_tab(page, console_url):  # noqa: F811
    for query in ("?lang=ko", "?lang=en&range=7d"):
        open_charts(page, console_url, query)
        assert unreachable_by_tab(page) == [], query


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_script_writes_values_as_format_py_does(page, console_url, lang):  # noqa: F811
    open_charts(page, console_url)
    cases = [("ratio", v) for v in (0, 0.8, 0.9523, 0.12345, 1.5)] + \
            [("celsius", v) for v in (83, 41.2, 90.7)] + \
            [("seconds", v) for v in (0.0123, 0.3456, 2, 12.34, 90, 3725)] + \
            [("bytes", v) for v in (512, 672_000, 1.5e9, 128e9, 2.70553e11, 4e12)] + \
            [("rate", v) for v in (0.25, 12.3, 1234.5678)] + \
            [("number", v) for v in (0, 3, 151, 0.00240317, 1796010000)]
    got = page.evaluate("([cases, lang]) => cases.map(([u, v]) => window.opsplanCharts.format(u, v, lang))",
                        [cases, lang])
    assert got == [shown(unit, float(value), lang) for unit, value in cases]


def test_a_groups_cpu_is_the_sum_of_its_members_rates_and_a_restart_is_not_a_drop(page, console_url):  # noqa: F811
    open_charts(page, console_url)
    # Two members' CPU seconds at 60 s buckets: one uses 2 cores throughout, the other 1 core and
    # restarts (its counter drops) at 240 s: that bucket counts only the first member.
    series = [{"label": "CPU a", "xs": [0, 60, 120, 180, 240], "ys": [0, 120, 240, 360, 480]},
              {"label": "CPU b", "xs": [60, 120, 180, 240], "ys": [600, 660, 720, 5]}]
    summed = page.evaluate("series => window.opsplanCharts.rateSum(series, 'CPU')", series)
    assert summed == [{"label": "CPU", "xs": [60, 120, 180, 240], "ys": [2, 3, 3, 2], "mins": [2, 3, 3, 2],
                       "maxs": [2, 3, 3, 2], "last": 2, "lastAt": 240}]


def test_without_javascript_the_page_says_so_and_lists_the_thresholds(chromium, console_url):  # noqa: F811
    context = chromium.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        log_in(tab, console_url)
        answer = tab.goto(console_url + "charts?lang=ko")
        assert answer is not None and answer.ok
        assert "자바스크립트가 필요합니다" in tab.locator("#needs-js").inner_text()
        assert "Critical 90% (CpuUsageHigh)" in tab.locator("#thresholds-cpu").inner_text()
        with tab.expect_navigation():
            tab.click("a[data-range='24h']")
        assert tab.locator("a[data-range='24h']").get_attribute("aria-current") == "true"
    finally:
        context.close()
