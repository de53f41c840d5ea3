"""The incident pages in a real browser (Debian's chromium through Playwright) against a real
`opsplan serve` with a Korean plan: an incident opened with `opsplan incident open` (as a person
reports a security incident) shows on the list; an operator opens it, Hangul is drawn with a real
font, no English or catalogue key is left on the page, and pressing 확인 puts the acknowledgement
on the timeline in the operator's name (and in the audit log). Screenshot `incident-ko.png`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import yaml_writer
from browser import artifacts, chromium, hangul_has_glyphs, log_in  # noqa: F401
from serve_process import add_user, start_serve, wait_for_cycles
from unit.test_korean_text import english_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OPERATOR = "ops01"


def opsplan(plan: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(plan), *args], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("incidents")
    plan = yaml_writer.write_plan(directory, {
        "language": "ko", "services": [],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"}})
    add_user(plan, OPERATOR, "operator")
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 1, timeout=60)
        yield url, plan
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a stuck serve must not hang the suite
            proc.kill()


def test_an_operator_acknowledges_a_korean_incident_from_its_page(chromium, served, tmp_path):  # noqa: F811
    url, plan = served
    opened = json.loads(opsplan(plan, "incident", "open", "--severity", "critical", "--title", "고객 정보 유출 신고",
                                "--by", "kim01", "--json"))
    incident = opened["id"]
    context = chromium.new_context(locale="ko-KR", viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    try:
        assert hangul_has_glyphs(page), "no font draws Hangul: install fonts-noto-cjk"
        log_in(page, url, OPERATOR)
        page.goto(url + "incidents")
        row = page.locator(f"#incident-{incident}")
        assert "고객 정보 유출 신고" in row.inner_text() and "Critical" in row.inner_text()
        with page.expect_navigation():
            row.locator("a").click()
        assert page.inner_text("#incident-heading") == f"#{incident} 고객 정보 유출 신고"
        main = page.inner_text("main")
        assert english_words(main) == [], main
        assert "console." not in main and "incident." not in main  # no catalogue key left unrendered
        with page.expect_navigation():
            page.click("#ack button")
        timeline = page.inner_text("#timeline")
        assert "확인함 (ops01)" in timeline and "장애 열림 (장애 등급 Critical) (kim01)" in timeline
        assert page.inner_text("#fact-status") == "확인"
        assert page.locator("#ack").count() == 0  # acknowledged: the button is gone
        page.screenshot(path=str(artifacts(tmp_path) / "incident-ko.png"), full_page=True)
    finally:
        context.close()
    audit = json.loads(opsplan(plan, "audit", "list", "--json"))
    entries = audit["entries"] if isinstance(audit, dict) else audit
    acks = [e for e in entries if e["action"] == "incident.ack"]
    assert [(e["actor"], e["target"]) for e in acks] == [(OPERATOR, f"incident {incident}")]
