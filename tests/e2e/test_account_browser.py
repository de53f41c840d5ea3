"""The Account page, the Plan page and the API docs in a real browser (Debian's chromium through
Playwright) against a real `opsplan serve` with a Korean plan: a viewer reaches the Account page from
the "logged in as" line, switches the console to English and every page after it is English without
`?lang=`; the Plan page and Swagger UI (its schema fetched with the session) work for that user."""

from __future__ import annotations

import pytest

from browser import chromium, console_url, log_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(chromium, console_url):  # noqa: F811 - the fixtures imported above
    context = chromium.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    log_in(tab, console_url)
    yield tab
    context.close()


def test_the_language_chosen_on_the_account_page_is_every_pages_language(page, console_url):  # noqa: F811
    page.goto(console_url)
    assert page.get_attribute("html", "lang") == "ko"
    with page.expect_navigation():
        page.click("#account-link")
    assert page.url.startswith(console_url + "account")
    assert page.inner_text("h1").startswith("계정 설정")
    page.check("#language-form input[value=en]")
    with page.expect_navigation():
        page.click("#language-form button[type=submit]")
    assert page.inner_text("#account-done") == "✔ Console language saved."
    for path in ("", "plan", "alerts"):
        page.goto(console_url + path)
        assert page.get_attribute("html", "lang") == "en", path
    page.goto(console_url + "plan")
    assert page.inner_text("h1").startswith("Operations plan") and "language: ko" in page.inner_text("#plan-yaml")
    # And back to the plan's language.
    page.goto(console_url + "account")
    page.check("#language-form input[value=default]")
    with page.expect_navigation():
        page.click("#language-form button[type=submit]")
    assert page.get_attribute("html", "lang") == "ko"


def test_swagger_ui_loads_the_schema_with_the_session(page, console_url):  # noqa: F811
    page.goto(console_url + "api/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "opsplan" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 5  # the operations are listed: the schema came through
    anonymous = page.context.browser.new_context()
    try:
        tab = anonymous.new_page()
        tab.goto(console_url + "api/docs")
        assert tab.url.startswith(console_url + "login")
    finally:
        anonymous.close()
