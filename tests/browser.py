"""Browser tests' parts: Debian's chromium driven by Playwright, and a real `opsplan serve`.

Chromium is the system's (`/usr/bin/chromium`, or OPSPLAN_CHROMIUM), launched by path: never
`playwright install`, nothing downloaded at test time. Without chromium or the playwright package
the browser tests skip with the reason (under CI, only a missing chromium skips; scripts/setup.sh
test installs both, with fonts-noto-cjk
for Hangul). Screenshots go to OPSPLAN_TEST_ARTIFACTS (kept by CI) or the test's tmp directory.

Use in a test module: `from browser import chromium, console_url  # noqa: F401` (pytest fixtures).
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import yaml_writer
from serve_process import TEST_PASSWORD, add_user, start_serve, wait_for_cycles

CHROMIUM = os.environ.get("OPSPLAN_CHROMIUM", "/usr/bin/chromium")
VIEWER = "view01"


def log_in(page: Any, url: str, name: str = VIEWER, password: str = TEST_PASSWORD) -> Any:
    """Submits the console's login form as a person would; the answer to the POST."""
    page.goto(url + "login")
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    return navigation.value


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)) and shutil.which(CHROMIUM) is None:
        return f"no chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk, or set OPSPLAN_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def artifacts(tmp_path: Path) -> Path:
    """Where screenshots are kept: $OPSPLAN_TEST_ARTIFACTS (CI keeps it), else the test's tmp dir."""
    directory = Path(os.environ.get("OPSPLAN_TEST_ARTIFACTS") or tmp_path / "artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless chromium for the module (pages and contexts are per test)."""
    why = missing()
    if why and not why.startswith("no chromium") and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests need {why}", pytrace=False)  # CI installs the dev dependencies
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        # --no-sandbox: the test machines run as root, where chromium's sandbox refuses to start.
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `opsplan serve` (Korean plan, no services, an unreachable MariaDB) after its first cycle,
    with one viewer, VIEWER (log in with `log_in`)."""
    directory = tmp_path_factory.mktemp("console")
    plan = yaml_writer.write_plan(directory, {
        "language": "ko", "services": [],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"}})
    add_user(plan, VIEWER, "viewer")
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


def distinct_colours(page: Any, png: bytes) -> int:
    """How many distinct colours a PNG holds, counted by chromium itself (no image library needed)."""
    data = base64.b64encode(png).decode()
    page.set_content(f'<img id="shot" src="data:image/png;base64,{data}">')
    return int(page.evaluate("""() => new Promise(done => {
        const img = document.getElementById('shot');
        const count = () => {
            const canvas = document.createElement('canvas');
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
            const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
            const seen = new Set();
            for (let i = 0; i < px.length && seen.size < 1000; i += 4)
                seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
            done(seen.size);
        };
        img.complete ? count() : img.onload = count;
    })"""))


def hangul_has_glyphs(page: Any) -> bool:
    """Whether chromium draws Hangul with a real font: '한글' must not look like the tofu boxes an
    unassigned code point gets (what a machine without fonts-noto-cjk shows)."""
    page.set_content("<canvas id='c' width='200' height='60'></canvas>")
    return bool(page.evaluate("""() => {
        const ctx = document.getElementById('c').getContext('2d');
        const draw = text => { ctx.clearRect(0, 0, 200, 60); ctx.font = '40px sans-serif';
                               ctx.fillText(text, 5, 45); return ctx.getImageData(0, 0, 200, 60).data.join(','); };
        return draw('\\uD55C\\uAE00') !== draw('\\u0378\\u0378');
    }"""))


FOCUSABLE = ("a[href], button, input:not([type=hidden]), select, textarea, summary, "
             "[tabindex]:not([tabindex='-1'])")


def unreachable_by_tab(page: Any, max_presses: int = 200) -> list[str]:
    """The visible links and controls that pressing Tab from the top of the page never focuses."""
    controls = page.evaluate(f"""() => {{
        // A native control with tabindex=-1 is still a control: listed, so it shows as unreachable.
        const all = [...document.querySelectorAll("{FOCUSABLE}")]
            .filter(e => !e.disabled && e.getClientRects().length > 0);
        all.forEach((e, i) => e.dataset.opsplanControl = String(i));
        return all.map(e => e.outerHTML.slice(0, 120));
    }}""")
    reached: set[str] = set()
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    for _ in range(min(max_presses, 2 * len(controls) + 2)):
        page.keyboard.press("Tab")
        index = page.evaluate("() => document.activeElement && document.activeElement.dataset.opsplanControl")
        if index is not None:
            reached.add(index)
    return [html for i, html in enumerate(controls) if str(i) not in reached]
