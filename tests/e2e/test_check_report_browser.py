"""The exported Korean check report opened in a real browser (Debian's chromium through Playwright),
as an operator opens the file: Hangul is drawn with a real font, the charts are drawn (SVG with
their lines and threshold), nothing is fetched from outside and no script runs. Screenshot kept."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from browser import artifacts, chromium, hangul_has_glyphs  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_checks_runs import invoke, planned  # noqa: E402

pytestmark = [pytest.mark.browser]


def test_the_korean_report_file_renders_hangul_and_its_charts(chromium, tmp_path):  # noqa: F811
    path = planned(tmp_path, language="ko")
    run = json.loads(invoke(path, "check", "run", "daily", "--for", "2026-11-30", "--json").output)
    report = tmp_path / "report.ko.html"
    assert invoke(path, "report", "export", str(run["id"]), "--lang", "ko", "--out", str(report)).exit_code == 0
    context = chromium.new_context(locale="ko-KR", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        assert hangul_has_glyphs(page), "no font draws Hangul: install fonts-noto-cjk"
        page.goto(report.as_uri())
        assert page.get_attribute("html", "lang") == "ko"
        assert page.inner_text("h1") == f"일일 점검 보고서 #{run['id']}"
        assert "마운트 지점 /data의 디스크 사용률이 95%로" in page.inner_text("body")
        charts = page.locator("svg.chart")
        assert charts.count() >= 3
        box = charts.first.bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 200
        assert page.locator("svg.chart polyline").count() >= 3
        assert page.locator("svg.chart line.threshold").count() >= 2
        family = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Noto Sans CJK KR" in family
        assert [u for u in requests if not u.startswith("file:") and not u.startswith("about:")] == []
        page.screenshot(path=str(artifacts(tmp_path) / "check-report-ko.png"), full_page=True)
    finally:
        context.close()
