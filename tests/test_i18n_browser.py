"""The language picker and an Arabic (right-to-left) page in Debian's headless Chromium, on a
360 px phone with JavaScript off. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import PHONE, fits_phone, launch, shot
from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def phone(live_server: LiveServer) -> Iterator[object]:
    """A page in a browser without JavaScript: the picker must work with plain HTML."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-US")
        yield context.new_page()
        context.close()
        browser.close()


def pick(page, language: str) -> None:
    page.click("details.language-picker summary")
    page.click(f'details.language-picker button[value="{language}"]')
    page.wait_for_load_state()


def starts_at_the_right(area: dict) -> bool:
    return area["x"] + area["width"] > PHONE["width"] - 40 and area["x"] > 40


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def text_box(page, selector: str) -> dict:
    """Where the text itself sits (a block element spans the whole line either way)."""
    return page.evaluate(
        """(selector) => {
            const range = document.createRange();
            range.selectNodeContents(document.querySelector(selector));
            const r = range.getBoundingClientRect();
            return {x: r.x, width: r.width};
        }""",
        selector,
    )


def test_an_arabic_page_is_laid_out_right_to_left(phone, live_server: LiveServer) -> None:
    page = phone
    page.goto(live_server.url + "/")
    assert page.evaluate("document.documentElement.dir") == "ltr"
    pick(page, "ar")
    assert page.url == live_server.url + "/"
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert page.locator("h1").first.inner_text() == "المكتبة"
    shot(page, "i18n-home-ar-rtl-360")
    # Mirrored: the hub's name starts at the right edge, the picker ends at the left edge,
    # and headings start at the right.
    assert starts_at_the_right(box(page, ".brand"))
    assert box(page, "details.language-picker")["x"] < 40
    assert starts_at_the_right(text_box(page, "main h1"))
    assert fits_phone(page)
    page.click("details.language-picker summary")
    assert fits_phone(page)  # the open picker stays on the screen
    shot(page, "i18n-picker-open-ar-360")


def test_an_arabic_lesson_page_mirrors_its_pager_and_says_its_language(
    phone, live_server: LiveServer
) -> None:
    page = phone
    page.goto(live_server.url + "/packs/fractions-en")
    lessons = page.locator("ol.lessons a")
    assert lessons.count() >= 3
    lessons.nth(1).click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.dir") == "rtl"
    notice = page.locator(".language-notice").inner_text()
    assert "هذا الدرس متوفر باللغة الإنجليزية فقط." in notice
    # The lesson itself stays English and left-to-right inside the Arabic page.
    article = page.locator("article.lesson")
    assert article.get_attribute("dir") == "ltr" and article.get_attribute("lang") == "en"
    shot(page, "i18n-lesson-ar-rtl-360")
    # "Previous" sits where reading starts (the right) and its arrow points there.
    assert starts_at_the_right(box(page, "a[rel=prev]"))
    assert page.locator("a[rel=prev]").inner_text().startswith("→")
    assert page.locator("a[rel=next]").inner_text().endswith("←")
    assert fits_phone(page)


def test_the_picker_brings_back_english(phone, live_server: LiveServer) -> None:
    page = phone
    page.goto(live_server.url + "/signin")
    assert page.evaluate("document.documentElement.dir") == "rtl"  # the cookie remembered
    pick(page, "en")
    assert page.url == live_server.url + "/signin"
    assert page.evaluate("document.documentElement.dir") == "ltr"
    assert page.locator("h1").first.inner_text() == "Which class are you in?"
    shot(page, "i18n-signin-en-360")
