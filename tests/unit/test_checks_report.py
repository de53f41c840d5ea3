"""The report's own drawing and wording, on a result built by hand: a chart with a forecast band
and thresholds as SVG a browser draws, numbers in each language's form, a tool's evidence kept."""

from __future__ import annotations

import re

from opsplan.checks.model import FAIL, Chart, Figure, ItemResult, Line, Series, ToolRun
from opsplan.checks.report import render
from opsplan.checks.report.svg import chart_svg
from opsplan.checks.report.values import number

T0 = 1_795_996_800.0  # 2026-11-30 09:00 KST


def band_chart() -> Chart:
    times = [T0 + i * 86400 for i in range(10)]
    used = Series("/data", [(t, 0.5 + i * 0.03) for i, t in enumerate(times)])
    return Chart(Line("checks.chart.disk"), "ratio", [used],
                 [(Line("checks.threshold.warning"), 0.8), (Line("checks.threshold.critical"), 0.9)],
                 band=(Series("low", [(t, 0.45 + i * 0.03) for i, t in enumerate(times)]),
                       Series("high", [(t, 0.55 + i * 0.03) for i, t in enumerate(times)])))


def test_a_chart_has_its_band_thresholds_axes_and_legend():
    svg = chart_svg(band_chart(), "en", "Asia/Seoul")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="band"') == 1 and svg.count('class="threshold"') == 2
    assert "warning threshold 80.0%" in svg and "critical threshold 90.0%" in svg
    assert "time (KST)" in svg and "usage (%)" in svg and ">/data</text>" in svg
    assert re.search(r">12-0\d</text>", svg)  # a ten-day axis is labelled by date
    korean = chart_svg(band_chart(), "ko", "Asia/Seoul")
    assert "경고 임계값 80%" in korean and "시각 (KST)" in korean


def test_an_empty_chart_says_so():
    svg = chart_svg(Chart(Line("checks.chart.cpu"), "ratio", []), "ko", "Asia/Seoul")
    assert "표시할 데이터가 없습니다" in svg


def test_numbers_are_written_in_each_languages_form():
    assert (number(0.95, "ratio", "ko"), number(0.95, "ratio", "en")) == ("95%", "95.0%")
    assert (number(5400, "seconds", "ko"), number(5400, "seconds", "en")) == ("1시간 30분", "1h 30m")
    assert number(0.25, "seconds", "en") == "250 ms"
    assert number(672_000, "bytes", "ko") == "672 KB"
    assert (number(3.5, "days", "ko"), number(3.5, "days", "en")) == ("3.5일", "3.5 days")
    assert number(None, "ratio", "ko") == "-" and number(float("nan"), "count", "en") == "-"


def test_a_tools_evidence_and_a_previous_figure_are_in_every_format():
    result = ItemResult("security.patches", FAIL, Line("checks.disk.summary", {"mount": "/", "value": {
        "value": 0.93, "unit": "ratio"}}), figures=[Figure(Line("checks.fig.disk", {"mount": "/"}), 0.93, "ratio", 0.8,
                                                           previous=0.81)],
        charts=[band_chart()],
        tools=[ToolRun(["apt-get", "-s", "upgrade"], "apt 2.6.1", 0, "Inst libssl3 <x>", "ab" * 32)])
    run = {"id": 7, "period": "weekly", "window": {"start": T0 - 7 * 86400, "end": T0}, "started_at": T0,
           "finished_at": T0 + 5, "status": FAIL, "actor": "t", "signed": None,
           "items": [{"position": 0, "item_id": "security.patches", "title": {"ko": "보안 패치 적용", "en": "Patches"},
                      "status": FAIL, "result": result.to_dict(), "ticked": None}]}
    html = render(run, "html", "ko", "Asia/Seoul")
    assert "주간 점검 보고서 #7" in html and "93%" in html and "81%" in html and "ab" * 32 in html
    assert "<pre>Inst libssl3 &lt;x&gt;</pre>" in html and "apt-get -s upgrade" in html
    markdown = render(run, "md", "en", "Asia/Seoul")
    assert "| disk usage of / | 93.0% | 80.0% | 81.0% |" in markdown and "Inst libssl3 <x>" in markdown
    document = render(run, "json", "en", "Asia/Seoul")
    assert '"summary_text": "fullest disk /: 93.0%"' in document and '"+09:00"' not in document
    assert "2026-11-23T09:00:00+09:00" in document
