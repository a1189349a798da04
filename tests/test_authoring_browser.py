"""Teachers' own packs in a real headless Chromium on a 360 px phone, with and without
JavaScript: make a pack, upload files (in pieces with a progress bar when JavaScript runs,
a plain form when it does not), write a quiz with every kind of question, preview it as a
learner sees it, save it and publish. The screenshots in docs/operator-guide.md come from here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import PHONE, doc_shot, fits_phone
from tests.conftest import ROOT, LiveServer
from tests.test_authoring import PNG

pytestmark = [pytest.mark.browser, pytest.mark.server]
PASSWORD = "operator-pw"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("authoring-browser") / "data"
    add = [sys.executable, "-m", "hub", "users", "add", "Olive", "--role", "operator"]
    done = subprocess.run(
        [*add, "--password", PASSWORD, "--data", str(data)], cwd=ROOT, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    live = LiveServer(data, env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        live.wait_until_ready()
        yield live
    finally:
        live.stop()


def signed_in_page(browser: Any, server: LiveServer, script: bool) -> Any:
    context = browser.new_context(viewport=PHONE, java_script_enabled=script)
    page = context.new_page()
    page.goto(server.url + "/signin/staff")
    page.fill("input[name=username]", "olive")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.goto(server.url + "/admin/own-packs/")
    return page


def keep(page: Any, name: str) -> None:
    """A small screenshot for the operator guide: what the phone's screen shows."""
    doc_shot(page, name)


def make_pack(page: Any, title: str) -> None:
    page.fill("#title", title)
    page.check("input[value='CC-BY-4.0']")
    page.click("text=Make the pack")
    page.wait_for_selector(f"h1:has-text('{title}')")
    assert fits_phone(page)


def upload(page: Any, tmp_path: Path, script: bool) -> None:
    picture = tmp_path / "01 - The river.png"
    picture.write_bytes(PNG)
    video = tmp_path / "02 - Boats.mp4"
    video.write_bytes(os.urandom(5 * 1024 * 1024))  # two pieces of 4 MiB when scripted
    page.set_input_files("#upload-files", [str(picture), str(video)])
    page.click("form[data-upload-start] button[type=submit]")
    if script:
        page.wait_for_selector(".upload-progress progress")
        keep(page, "own-pack-upload-phone")
    page.wait_for_selector("input[name=title][value='Boats']", timeout=30000)
    assert page.locator("input[name=title][value='The river']").count() == 1
    assert fits_phone(page)


def write_quiz(page: Any, script: bool) -> None:
    page.click("text=Write a quiz")
    page.fill("#quiz-title", "Check: rivers")
    page.fill("#q0-prompt", "Where does a river end?")
    page.fill("#q0-choices", "In the mountains\n* In the sea\nIn the sky")
    page.fill("#q0-hint", "Follow the water downhill.")
    for kind, name in (
        ("multiple", "Pick all that apply"),
        ("numeric", "A number"),
        ("text", "A word or phrase"),
    ):
        page.click(f"button[value=add-{kind}]")
        page.wait_for_selector(f"legend:has-text('{name}')")
    page.fill("#q1-prompt", "Which of these float?")
    page.fill("#q1-choices", "* A boat\nA stone\n* A leaf")
    page.fill("input[name=q2-answer]", "4")
    page.fill("#q2-prompt", "How many boats are in the picture?")
    page.fill("#q3-prompt", "What do we call a small river?")
    page.fill("#q3-answer", "stream\nbrook")
    page.fill("#q3-explanation", "A stream is a small river.")
    assert fits_phone(page)
    page.click("button[value=preview]")
    page.wait_for_selector("#preview")
    assert page.locator("#preview .quiz-panel").count() == 8  # each question asked, then answered
    assert page.locator("#preview button[type=submit]").first.is_disabled()
    assert fits_phone(page)
    if not script:
        page.locator("#preview").scroll_into_view_if_needed()
        keep(page, "own-pack-quiz-preview-phone")
    page.click("button[value=save]")
    page.wait_for_selector("text=Saved the quiz Check: rivers")


def test_a_teacher_makes_a_pack_on_a_phone(
    browser: Any, server: LiveServer, tmp_path: Path
) -> None:
    for script in (True, False):
        page = signed_in_page(browser, server, script)
        assert fits_phone(page)
        if not script:
            keep(page, "own-pack-new-phone")
        title = "Rivers with script" if script else "Rivers without script"
        make_pack(page, title)
        upload(page, tmp_path, script)
        write_quiz(page, script)
        page.click(f"text={title}")
        page.click("button.wide:has-text('Publish')")  # a job: its page follows it
        page.wait_for_selector("#job[data-finished=yes] >> text=Published version 1")
        page.click("text=Back to the pack")
        page.wait_for_selector("text=Last publishing: Published version 1")
        assert page.locator("input[name=title][value='Check: rivers']").count() == 1
        if script:
            keep(page, "own-pack-published-phone")
        assert fits_phone(page)
        page.context.close()
