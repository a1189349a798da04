"""Quizzes in Debian's headless Chromium, on a 360x740 phone with and without JavaScript and on
a 1280x800 laptop: one question at a time with "3 of 9", big rows to tap, nothing of an answer
in the page before it is answered, resume after leaving, the summary, and fresh draws."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import PHONE, fits_phone, shot
from tests.conftest import LiveServer
from tests.progress_helpers import events_in, learner_ids, prepare_hub
from tests.quiz_helpers import (
    FRACTIONS,
    PICK,
    PICKED,
    lesson_url,
    picked_exercise,
    picked_pack,
    questions_by_id,
    right_answer,
    sample_exercise,
    secrets_of,
    wrong_answer,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

LAPTOP = {"width": 1280, "height": 800}
LEARNERS = {"nojs": "Amina Juma", "js": "Baraka Ali", "laptop": "Chiku Tatu"}
QUESTIONS = {**questions_by_id(sample_exercise()), **questions_by_id(picked_exercise())}
SECRETS = secrets_of(sample_exercise()) + secrets_of(picked_exercise())

# Every row, button, link and box to tap in the quiz, and every text in it, measured.
TOO_SMALL = """() => {
  const quiz = document.getElementById("quiz");
  const bad = [];
  for (const el of quiz.querySelectorAll("label, button, a, input[type=text], summary")) {
    const box = el.getBoundingClientRect();
    const what = `${el.outerHTML.slice(0, 60)} ${box.width}x${box.height}`;
    if (box.width < 44 || box.height < 44) bad.push(what);
  }
  const texts = document.createTreeWalker(quiz, NodeFilter.SHOW_TEXT);
  while (texts.nextNode()) {
    const node = texts.currentNode;
    const size = parseFloat(getComputedStyle(node.parentElement).fontSize);
    if (node.textContent.trim() && size < 16) bad.push(`${node.textContent.trim()} ${size}px`);
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("quiz-browser")
    prepare_hub(root / "data", learners=LEARNERS.values(), packs=[picked_pack(root / "picked")])
    server = LiveServer(root / "data")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def open_page(browser: Any, hub: LiveServer, who: str | None, **options: Any) -> Any:
    context = browser.new_context(**{"viewport": PHONE, **options})
    if who:
        username = re.sub(r"[^a-z0-9]+", "-", LEARNERS[who].lower())
        response = context.request.post(
            hub.url + "/api/session",
            data=json.dumps({"username": username, "pin": "1234"}),
            headers={"Content-Type": "application/json"},
        )
        assert response.status == 201, response.text()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # Nothing may leave the hub.
    page.on("request", lambda r: r.url.startswith(hub.url) or page.errors.append(r.url))
    return page


def asked(page: Any) -> dict[str, Any]:
    """The question the page asks now (checking the page tells nothing of any answer)."""
    page.locator("form.quiz").wait_for()
    html = page.content()
    assert not [secret for secret in SECRETS if secret in html]
    assert "The answer is" not in html and "is-right" not in html
    return QUESTIONS[page.locator("input[name=question]").input_value()]


def answer(page: Any, question: dict[str, Any], right: bool = True) -> None:
    values = right_answer(question) if right else wrong_answer(question)
    if question["type"] in ("single", "multiple"):
        for value in values:
            page.locator("label.choice").nth(int(value)).click()
    else:
        page.locator("input[name=answer]").fill(values[0])
    page.get_by_role("button", name="Check my answer").click()
    page.locator("#quiz .feedback").wait_for()
    assert ("Right!" if right else "Not quite.") in page.locator("#quiz .feedback").inner_text()
    if question.get("explanation"):
        assert question["explanation"] in page.locator("#quiz").inner_text()


def next_step(page: Any) -> None:
    page.locator("a[data-quiz-link]").click()
    page.locator("#quiz form.quiz, #quiz .result").wait_for()


def start(page: Any, hub: LiveServer, lesson: tuple[str, str]) -> None:
    page.goto(hub.url + lesson_url(lesson))
    page.get_by_role("button", name=re.compile("^(Start|Try again)$")).click()


def check_sizes(page: Any, width: int) -> None:
    assert page.evaluate(TOO_SMALL) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_phone_without_javascript(browser: Any, hub: LiveServer) -> None:
    page = open_page(browser, hub, "nojs", java_script_enabled=False)
    start(page, hub, FRACTIONS)
    for position in range(1, 10):
        question = asked(page)
        assert f"Question {position} of 9" in page.locator(".quiz-count").inner_text()
        check_sizes(page, PHONE["width"])
        if position == 3:
            shot(page, "quiz-question-360-nojs")
            page.goto(hub.url + "/")  # the child leaves, and comes back later
            page.goto(hub.url + lesson_url(FRACTIONS))
            assert asked(page) == question and "Question 3 of 9" in page.content()
        answer(page, question, right=position != 4)
        check_sizes(page, PHONE["width"])
        if position == 4:
            shot(page, "quiz-wrong-360-nojs")
        next_step(page)
    assert "You got 8 of 9 right." in page.locator("#quiz").inner_text()
    check_sizes(page, PHONE["width"])
    shot(page, "quiz-summary-360-nojs")
    me = learner_ids(hub.data_dir / "learnhub.db")["amina-juma"]
    [event] = [
        e
        for e in events_in(hub.data_dir / "learnhub.db")
        if e["type"] == "attempt" and e["learner_id"] == me
    ]
    assert event["fields"]["answered"].count(True) == 8 and len(event["fields"]["answered"]) == 9
    assert not page.errors, page.errors


def test_a_phone_with_javascript_answers_without_reloading(browser: Any, hub: LiveServer) -> None:
    page = open_page(browser, hub, "js")
    start(page, hub, FRACTIONS)
    page.evaluate("window.stillHere = 42")  # gone if the page reloads
    first = asked(page)
    page.get_by_role("button", name="Check my answer").click()  # nothing chosen
    assert page.evaluate("document.querySelector('form.quiz').checkValidity()") is False
    answer(page, first)
    shot(page, "quiz-right-360-js")
    next_step(page)
    for _ in range(8):
        answer(page, asked(page))
        check_sizes(page, PHONE["width"])
        next_step(page)
    assert "You got 9 of 9 right." in page.locator("#quiz").inner_text()
    assert "You have mastered this exercise." in page.locator("#quiz").inner_text()
    assert page.evaluate("window.stillHere") == 42
    assert page.url.endswith("/quiz")  # a reload shows the summary, not a form posted again
    page.reload()
    assert "You got 9 of 9 right." in page.locator("#quiz").inner_text()
    assert fits_phone(page)
    assert not page.errors, page.errors


def test_a_laptop_and_fresh_draws(browser: Any, hub: LiveServer) -> None:
    page = open_page(browser, hub, None, viewport=LAPTOP)  # a visitor, not signed in
    draws = []
    for attempt in range(3):
        start(page, hub, PICKED)
        drawn = []
        for position in range(1, PICK + 1):
            question = asked(page)
            assert f"Question {position} of {PICK}" in page.locator(".quiz-count").inner_text()
            drawn.append(question["id"])
            if attempt == 0 and position == 2:
                page.reload()  # the same question again
                assert asked(page) == question
                check_sizes(page, LAPTOP["width"])
                shot(page, "quiz-question-1280")
            answer(page, question)
            next_step(page)
        assert f"You got {PICK} of {PICK} right." in page.locator("#quiz").inner_text()
        draws.append(tuple(drawn))
    assert len(set(draws)) > 1  # 11,880 ordered draws of 4 from 12
    shot(page, "quiz-summary-1280")
    assert not page.errors, page.errors
