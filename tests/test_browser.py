"""Pages in a real headless Chromium (Debian's), as a student's phone would show them."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.browser import PHONE, fits_phone, shot
from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.server]


def api(server: LiveServer, path: str) -> dict:
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return json.loads(response.read())


def lesson_of_kind(server: LiveServer, kind: str) -> dict:
    for pack in api(server, "/api/packs")["packs"]:
        for lesson in api(server, f"/api/packs/{pack['id']}")["lessons"]:
            if lesson["kind"] == kind:
                return lesson
    raise AssertionError(f"no {kind} lesson in the sample library")


def test_every_page_fits_a_360px_phone(browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    failures = []
    page.on("console", lambda m: m.type == "error" and failures.append(f"{m.text} {m.location}"))
    page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"))
    page.goto(live_server.url + "/")
    shot(page, "home-360")
    assert fits_phone(page)
    for pack in api(live_server, "/api/packs")["packs"]:
        page.goto(live_server.url + pack["url"])
        assert fits_phone(page), pack["url"]
        for lesson in api(live_server, f"/api/packs/{pack['id']}")["lessons"]:
            page.goto(live_server.url + lesson["url"])
            assert fits_phone(page), lesson["url"]
            shot(page, f"lesson-{pack['id']}-{lesson['lesson_id']}")
    assert not failures, failures  # no CSP violations, no broken scripts
    context.close()


def test_article_is_shown_but_cannot_reach_the_hub(browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + lesson_of_kind(live_server, "article")["url"])
    frame = page.frame_locator("iframe.frame")
    assert frame.locator("body").inner_text(timeout=5000).strip()
    # The article runs in an opaque origin: the hub page cannot be reached through it, nor it
    # through the hub page, so neither can read the other's cookies or DOM.
    assert page.evaluate("document.querySelector('iframe.frame').contentDocument") is None
    origin = page.frames[1].evaluate("() => window.origin")
    assert origin == "null"
    context.close()


def test_exercise_works_without_javascript(browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + lesson_of_kind(live_server, "exercise")["url"])
    page.locator("#quiz button[type=submit]").click()  # Start
    first = page.locator("fieldset.question").first
    if first.locator("input[type=radio]").count():
        first.locator("input[type=radio]").first.check()
    elif first.locator("input[type=checkbox]").count():
        first.locator("input[type=checkbox]").first.check()
    else:
        first.locator("input[type=text]").first.fill("1")
    page.locator("form.quiz button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#quiz .feedback").inner_text()
    assert page.locator("#quiz .right, #quiz .wrong").count() >= 1
    shot(page, "exercise-graded-nojs")
    context.close()


def test_pdf_reads_on_a_phone_without_a_pdf_plugin(browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server.url + lesson_of_kind(live_server, "pdf")["url"])
    page.locator(".pdf-open").click()
    page.locator(".pdf-viewer canvas").first.wait_for(timeout=20000)
    shot(page, "pdf-viewer-360")
    assert not errors, errors
    context.close()


def test_video_plays_with_subtitles(browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + lesson_of_kind(live_server, "video")["url"])
    # Nothing but the poster loads before play is pressed (#14: a class shares the Wi-Fi).
    assert page.locator("video").get_attribute("preload") == "none"
    ready = page.evaluate(
        """async () => {
            const v = document.querySelector('video');
            v.muted = true;
            await v.play();
            return {duration: v.duration, tracks: v.textTracks.length};
        }"""
    )
    assert ready["duration"] > 1 and ready["tracks"] >= 1
    context.close()
