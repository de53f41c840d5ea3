"""The backups page in a real browser against a real `opsplan serve` whose MariaDB is on a closed
port: serve's start-up backup fails, the Korean page says why in Korean, an operator presses
"지금 백업" and the second failed attempt appears (htmx refreshes the list while the job runs),
with nothing the page policy blocks; a viewer sees no button."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import yaml_writer
from browser import artifacts, chromium, hangul_has_glyphs, log_in  # noqa: F401
from serve_process import add_user, logged_in, start_serve, wait_for_cycles, wait_until
from unit.test_korean_text import english_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def serve_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("backups-page")
    plan = yaml_writer.write_plan(directory, {
        "language": "ko", "services": [],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"}})
    add_user(plan, "ops01", "operator")
    add_user(plan, "view01", "viewer")
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 1, timeout=60)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - a stuck serve must not hang the suite
            proc.kill()


def failed_rows(client: httpx.Client) -> int:
    return len(re.findall(r'class="backup status-failed"', client.get("backups?lang=ko").text))


def test_an_operator_backs_up_from_the_korean_page_and_sees_why_it_failed(chromium, serve_url, tmp_path):  # noqa: F811
    # serve's first run at start-up (no backup recorded yet) meets the closed port.
    reader = logged_in(serve_url, "view01")
    try:
        wait_until(lambda: failed_rows(reader) >= 1, timeout=90)
    finally:
        reader.close()
    context = chromium.new_context(locale="ko-KR")
    blocked: list[str] = []
    try:
        page: Any = context.new_page()
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        log_in(page, serve_url, "ops01")
        page.goto(serve_url + "backups?lang=ko")
        assert page.locator("nav a[aria-current=page]").inner_text() == "백업"
        first = page.locator("tr.status-failed").first.inner_text()
        assert "실패" in first and "MariaDB에 접속할 수 없음" in first and "상세:" in first
        page.click("#backup-now")
        page.wait_for_url(re.compile(r"done=started"))
        assert "백업을 시작했습니다" in page.locator("#notice").inner_text()
        # The job fails within seconds; the list shows it without the person reloading.
        page.locator("tr.status-failed").nth(1).wait_for(timeout=60_000)
        page.wait_for_selector("#backup-now", timeout=30_000)  # nothing runs: the button is back
        text = page.inner_text("main")
        assert not english_words(re.sub(r"상세: .*", "", text)), english_words(text)
        page.screenshot(path=str(artifacts(tmp_path) / "backups-ko.png"), full_page=True)
        assert hangul_has_glyphs(context.new_page()), "Hangul draws as tofu: is fonts-noto-cjk installed?"
        assert blocked == []
        viewer = context.new_page()
        context.clear_cookies()
        log_in(viewer, serve_url, "view01")
        viewer.goto(serve_url + "backups?lang=ko")
        assert viewer.locator("#backup-now").count() == 0 and viewer.locator("form.verify").count() == 0
    finally:
        context.close()
