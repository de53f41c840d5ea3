"""The console in a real browser (Debian's chromium through Playwright) against a real `opsplan
serve`: the Korean status page renders Hangul (screenshot kept), reads as Korean, works without
JavaScript, and every link and control is reachable with Tab."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from browser import (  # noqa: F401
    artifacts,
    chromium,
    console_url,
    distinct_colours,
    hangul_has_glyphs,
    log_in,
    unreachable_by_tab,
)
from unit.test_korean_text import english_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture
def page(chromium, console_url):  # noqa: F811 - the fixtures imported above
    """A browser tab logged in as the console's viewer."""
    context = chromium.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    log_in(tab, console_url)
    yield tab
    context.close()


def test_the_korean_status_page_renders_hangul(page, console_url, tmp_path: Path):  # noqa: F811
    answer = page.goto(console_url + "?lang=ko")
    assert answer is not None and answer.ok
    text = page.inner_text("body")
    assert len(HANGUL.findall(text)) > 20, text
    shot = artifacts(tmp_path) / "status-ko.png"
    png = page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    # A blank or single-colour capture (a page that did not render) has one or two colours.
    assert distinct_colours(page, png) > 20
    assert hangul_has_glyphs(page), "Hangul draws as tofu: is fonts-noto-cjk installed?"


# On a real serve the page shows collectors and interfaces a unit test's cycle lacks (backup, rpo,
# drills, lo): each must read as Korean too.
def test_the_korean_page_has_no_english_leftovers(page, console_url):  # noqa: F811
    page.goto(console_url + "?lang=ko")
    # The host's own name (the subject of host-wide alerts) is a name, not an English word.
    words = [w for w in english_words(page.inner_text("body")) if w != socket.gethostname()]
    assert words == [], [line for line in page.inner_text("body").splitlines() if any(w in line for w in words)]
    assert page.title() and not english_words(page.title())


def test_the_page_works_without_javascript(chromium, console_url):  # noqa: F811
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, console_url)  # the login form is a plain form: no script needed
        answer = page.goto(console_url + "?lang=ko")
        assert answer is not None and answer.ok
        assert page.locator("h1").inner_text().startswith("opsplan")
        assert page.locator("#system").is_visible() and page.locator("#last-cycle").is_visible()
        # The stylesheet loaded (same origin, allowed by the page's policy): headings are styled.
        assert page.evaluate("() => document.styleSheets.length") >= 1
    finally:
        context.close()


def test_every_control_is_reachable_with_tab(page, console_url):  # noqa: F811
    for query in ("?lang=ko", "?lang=en"):
        page.goto(console_url + query)
        assert unreachable_by_tab(page) == [], query


def test_the_tab_check_finds_a_control_taken_out_of_the_tab_order(chromium):  # noqa: F811
    context = chromium.new_context()
    page = context.new_page()
    page.set_content('<a href="#a">first</a><button tabindex="-1">hidden from Tab</button><button>last</button>')
    missed = unreachable_by_tab(page)
    context.close()
    assert len(missed) == 1 and "hidden from Tab" in missed[0]
