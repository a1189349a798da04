"""The shared Kolibri export imported into a real hub (`learnhub serve`), then in Chromium on a
360 px phone: a Kolibri video plays with its subtitles and seeks, and a Kolibri exercise is
answered. The checks are shared with the test that uploads the export as a zip
(tests/test_kolibri_upload.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import PHONE
from tests.conftest import LiveServer
from tests.kolibri_helpers import EXPORT, PACK, QUIZ, VIDEO_WITH_TWO_TRACKS, content

pytestmark = [pytest.mark.browser, pytest.mark.server]
# "Quiz: safe drinking water": its questions (drawn in a fresh order) and their right answers
RIGHT = {
    "rolling boil": "At least one minute",
    "storing drinking water": "A clean container with a narrow opening and a lid",
    "one week": "140",
    "river safer": "Boiling it",
    "9 litres": "4,5",
}


@pytest.fixture(scope="module")
def kolibri_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("kolibri") / "data"
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        code, out, err = content(data, "import", str(EXPORT))  # beside the running server
        assert code == 0, err
        assert f"installed {PACK}" in out
        yield server
    finally:
        server.stop()


def test_the_channel_is_a_pack_on_the_hub(browser, kolibri_hub: LiveServer) -> None:
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{kolibri_hub.url}/packs/{PACK}")
    assert "Water and Health (test channel)" in page.content()
    assert "Safe drinking water" in page.inner_text("body")
    page.context.close()


def test_a_kolibri_video_plays_with_subtitles_and_seeks(browser, kolibri_hub: LiveServer) -> None:
    video_plays_with_subtitles_and_seeks(browser, kolibri_hub.url)


def test_a_kolibri_exercise_is_answered(browser, kolibri_hub: LiveServer) -> None:
    exercise_is_answered(browser, kolibri_hub.url)


def video_plays_with_subtitles_and_seeks(browser, hub_url: str) -> None:
    """The channel's video with two subtitle tracks, on a 360 px phone of the hub at `hub_url`."""
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{hub_url}/lessons/{PACK}/{VIDEO_WITH_TWO_TRACKS}")
    played = page.evaluate(
        """() => new Promise((resolve) => {
            const v = document.querySelector('video');
            const langs = Array.from(v.querySelectorAll('track')).map((t) => t.srclang).sort();
            const track = v.textTracks[0];
            track.mode = 'showing';
            v.muted = true;
            const seeked = () => resolve({
                langs, time: v.currentTime, width: v.getBoundingClientRect().width,
                cues: track.cues ? track.cues.length : 0, duration: v.duration,
            });
            v.addEventListener('seeked', seeked, {once: true});
            // preload="none": nothing loads before play, so play, then seek
            v.play().then(() => { v.currentTime = 6; });
            setTimeout(() => resolve({langs, time: -1}), 15000);
        })"""
    )
    assert played["langs"] == ["en", "fr"]
    assert played["time"] >= 5.9, played  # a Range request answered where the seek landed
    assert played["duration"] > 9 and played["cues"] >= 1
    assert played["width"] <= PHONE["width"]
    page.context.close()


def exercise_is_answered(browser, hub_url: str) -> None:
    """The channel's quiz, started and one question answered right, on a 360 px phone."""
    page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(f"{hub_url}/lessons/{PACK}/{QUIZ}")
    page.locator("#quiz button[type=submit]").click()  # Start
    question = page.locator("fieldset.question").first
    prompt = question.inner_text()
    answer = next(answer for words, answer in RIGHT.items() if words in prompt)
    if question.locator("input[type=radio]").count():
        question.get_by_label(answer).check()
    else:
        question.locator("input[type=text]").fill(answer)
    page.locator("form.quiz button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#quiz .right").count() >= 1, page.inner_text("#quiz")
    page.context.close()
