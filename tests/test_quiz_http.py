"""Quizzes one question at a time, through a real server as a browser without JavaScript
sends them: forms posted, redirects (303), nothing revealed before it is answered, resume
after leaving and after a restart, the attempt event as sync knows it, and hostile forms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.progress_helpers import events_in, learner_ids, prepare_hub
from tests.quiz_helpers import (
    FRACTIONS,
    PICK,
    PICKED,
    FormClient,
    attempts,
    current_question,
    lesson_url,
    picked_exercise,
    picked_pack,
    questions_by_id,
    right_answer,
    sample_exercise,
    secrets_of,
    start,
    status_of_huge_post,
    wrong_answer,
)

pytestmark = [pytest.mark.server]

LEARNERS = [
    "Amina Juma",
    "Baraka Ali",
    "Chiku Tatu",
    "Dalia Nne",
    "Eli Tano",
    "Faraji Sita",
    "Gift Saba",
    "Hawa Nane",
    "Ida Tisa",
    "Juma Kumi",
]
SAMPLE = questions_by_id(sample_exercise())
TWELVE = questions_by_id(picked_exercise())


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("quiz-http")
    prepare_hub(root / "data", learners=LEARNERS, packs=[picked_pack(root / "picked")])
    server = LiveServer(root / "data")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def db(hub: LiveServer) -> Path:
    return hub.data_dir / "learnhub.db"


def signed_in(hub: LiveServer, name: str) -> FormClient:
    client = FormClient(hub.url)
    client.sign_in(name.lower().replace(" ", "-"))
    return client


def attempt_events(hub: LiveServer, learner: str) -> list[dict]:
    me = learner_ids(db(hub))[learner.lower().replace(" ", "-")]
    return [e for e in events_in(db(hub)) if e["type"] == "attempt" and e["learner_id"] == me]


def answer(client: FormClient, page: str, values: list[str]) -> tuple[int, str, dict]:
    action, qid = current_question(page) or ("", "")
    assert action, page
    return client.post(action, {"question": qid, "answer": values})


def test_a_quiz_goes_one_question_at_a_time_to_a_summary(hub: LiveServer) -> None:
    client = signed_in(hub, "Amina Juma")
    page = start(client, FRACTIONS)
    wrong = {2, 5}  # positions answered wrongly
    for position in range(1, 10):
        assert f"Question {position} of 9" in page
        for secret in secrets_of(sample_exercise()):
            assert secret not in page  # no explanation of any question before it is answered
        assert "The answer is" not in page
        _, qid = current_question(page) or ("", "")
        question = SAMPLE[qid]
        values = wrong_answer(question) if position in wrong else right_answer(question)
        status, _, headers = answer(client, page, values)
        assert status == 303
        assert headers["Location"].endswith(f"/quiz?question={position}")
        status, feedback, _ = client.get(headers["Location"])
        assert f"Question {position} of 9" in feedback
        assert ("Not quite." if position in wrong else "Right!") in feedback
        assert question["explanation"] in feedback
        assert current_question(feedback) is None  # the answered question is not asked again
        status, page, _ = client.get(lesson_url(FRACTIONS) + "/quiz")
    assert "You got 7 of 9 right." in page
    assert page.count("✓ Right") == 7 and page.count("✗ Wrong") == 2
    [event] = attempt_events(hub, "Amina Juma")
    fields = event["fields"]
    assert set(fields) == {"score", "correct", "answered", "mastered"}  # sync's format
    assert len(fields["correct"]) == 9 and fields["answered"].count(True) == 7
    assert fields["score"] == pytest.approx(7 / 9) and fields["mastered"] is True
    assert "You have mastered this exercise." in page


def test_a_blank_answer_is_no_answer_and_reveals_nothing(hub: LiveServer) -> None:
    client = signed_in(hub, "Baraka Ali")
    page = start(client, FRACTIONS)
    for blank in ([], [""], ["   "]):
        status, again, _ = answer(client, page, blank)
        assert status == 400
        assert "Choose or write an answer first." in again
        assert "Question 1 of 9" in again and current_question(again) == current_question(page)
        for secret in secrets_of(sample_exercise()):
            assert secret not in again
    [row] = [a for a in attempts(db(hub)) if a["learner_id"] and a["answered"] == 0]
    assert row["answers"] == [] and attempt_events(hub, "Baraka Ali") == []


def test_the_quiz_resumes_after_leaving_and_after_a_restart(tmp_path: Path) -> None:
    prepare_hub(tmp_path / "data", learners=["Amina Juma"], packs=[picked_pack(tmp_path / "p")])
    server = LiveServer(tmp_path / "data")
    server.wait_until_ready()
    try:
        client = signed_in(server, "Amina Juma")
        page = start(client, PICKED)
        asked = []
        for _ in range(2):
            asked.append(current_question(page))
            answer(client, page, right_answer(TWELVE[asked[-1][1]]))
            page = client.get(lesson_url(PICKED) + "/quiz")[1]
        third = current_question(page)
        # Another phone, signed in as the same learner: the same third question.
        elsewhere = signed_in(server, "Amina Juma").get(lesson_url(PICKED))[1]
        assert f"Question 3 of {PICK}" in elsewhere and current_question(elsewhere) == third
    finally:
        server.stop()
    server = LiveServer(tmp_path / "data")
    server.wait_until_ready()
    try:
        again = signed_in(server, "Amina Juma").get(lesson_url(PICKED))[1]
        assert f"Question 3 of {PICK}" in again and current_question(again) == third
    finally:
        server.stop()


def test_each_attempt_draws_afresh_and_keeps_its_draw(hub: LiveServer) -> None:
    client = signed_in(hub, "Chiku Tatu")
    draws = []
    for _ in range(4):
        page = start(client, PICKED)
        assert current_question(client.get(lesson_url(PICKED) + "/quiz")[1]) == current_question(
            page
        )  # a reload asks the same question
        for _ in range(PICK):
            answer(client, page, right_answer(TWELVE[(current_question(page) or ("", ""))[1]]))
            page = client.get(lesson_url(PICKED) + "/quiz")[1]
        assert f"You got {PICK} of {PICK} right." in page
        [row] = [a for a in attempts(db(hub)) if a["pack_id"] == PICKED[0] and a["event_seq"]][-1:]
        draws.append(tuple(row["questions"]))
    assert all(len(set(d)) == PICK and set(d) <= set(TWELVE) for d in draws)
    assert len(set(draws)) > 1  # 11,880 ordered draws: four equal ones would be a bug
    events = attempt_events(hub, "Chiku Tatu")
    assert [len(e["fields"]["correct"]) for e in events] == [PICK] * 4
    assert [tuple(e["fields"]["correct"]) for e in events] == draws


def test_a_visitor_takes_the_quiz_and_nothing_is_recorded(hub: LiveServer) -> None:
    visitor = FormClient(hub.url)
    before = len(events_in(db(hub)))
    page = start(visitor, FRACTIONS)
    for _ in range(9):
        _, qid = current_question(page) or ("", "")
        for secret in secrets_of(sample_exercise()):
            assert secret not in page
        status, _, _ = answer(visitor, page, right_answer(SAMPLE[qid]))
        assert status == 303
        page = visitor.get(lesson_url(FRACTIONS) + "/quiz")[1]
    assert "You got 9 of 9 right." in page and "mastered" not in page
    assert len(events_in(db(hub))) == before
    # Another visitor does not see (or answer) this one's quiz.
    stranger = FormClient(hub.url)
    assert "Start" in stranger.get(lesson_url(FRACTIONS))[1]


def test_hostile_forms_get_one_clear_error_and_change_nothing(hub: LiveServer) -> None:
    client = signed_in(hub, "Dalia Nne")
    page = start(client, PICKED)
    action, qid = current_question(page) or ("", "")
    [mine] = [a for a in attempts(db(hub)) if action.endswith(f"/quiz/{a['id']}")]
    not_drawn = next(q for q in TWELVE if q not in mine["questions"])
    later = mine["questions"][1]
    refusals = [
        ({"question": not_drawn, "answer": "1"}, 400, "This question is not part of your quiz."),
        ({"question": later, "answer": "1"}, 409, "Answer the questions in order."),
        ({"question": qid, "answer": "abc"}, 400, "Write a number, such as 12, 0.5 or 1/2."),
        ({"question": qid, "answer": ["1", "2"]}, 400, "Send one answer to this question."),
        ({"question": qid, "answer": "9" * 2000}, 400, "Write at most 1000 characters."),
    ]
    for fields, status, message in refusals:
        got, text, _ = client.post(action, fields)
        assert got == status, (fields, got)
        assert message in text and "Traceback" not in text
        assert TWELVE[qid]["explanation"] not in text
    assert status_of_huge_post(hub.url, action, 3 * 1024 * 1024) == 413
    got, text, _ = client.post(action, {"question": qid, "answer": "1"}, token=False)
    assert got == 400 and "This form has expired" in text
    assert client.post(lesson_url(PICKED) + "/quiz", {"after": str(mine["id"])})[0] == 409
    [row] = [a for a in attempts(db(hub)) if a["id"] == mine["id"]]
    assert row["answered"] == 0 and row["answers"] == []  # nothing half-written

    right = {"question": qid, "answer": right_answer(TWELVE[qid])}
    assert client.post(action, right)[0] == 303
    got, text, _ = client.post(action, right)  # the same form again
    assert got == 409 and "You have already answered this question." in text
    [row] = [a for a in attempts(db(hub)) if a["id"] == mine["id"]]
    assert row["answered"] == 1

    # Another learner, and a visitor, posting to this attempt: as if it did not exist.
    for other in (signed_in(hub, "Eli Tano"), FormClient(hub.url)):
        other.get(lesson_url(PICKED))
        got, text, _ = other.post(action, {"question": later, "answer": "1"})
        assert got == 404 and "This quiz is not open any more" in text
    [row] = [a for a in attempts(db(hub)) if a["id"] == mine["id"]]
    assert row["answered"] == 1


def test_answers_after_the_end_and_replayed_starts_are_refused(hub: LiveServer) -> None:
    client = signed_in(hub, "Faraji Sita")
    page = start(client, PICKED)
    action = (current_question(page) or ("", ""))[0]
    for _ in range(PICK):
        _, qid = current_question(page) or ("", "")
        answer(client, page, right_answer(TWELVE[qid]))
        page = client.get(lesson_url(PICKED) + "/quiz")[1]
    got, text, _ = client.post(action, {"question": qid, "answer": "1"})
    assert got == 409 and "This quiz is finished" in text
    assert len(attempt_events(hub, "Faraji Sita")) == 1
    finished = next(a for a in attempts(db(hub)) if a["id"] == int(action.rsplit("/", 1)[1]))
    # "Try again" twice (a replayed form): one new attempt, not two.
    for _ in range(2):
        assert client.post(lesson_url(PICKED) + "/quiz", {"after": str(finished["id"])})[0] == 303
    me = learner_ids(db(hub))["faraji-sita"]
    mine = [a for a in attempts(db(hub)) if a["learner_id"] == me]
    assert len(mine) == 1 and mine[0]["id"] > finished["id"] and mine[0]["answered"] == 0
    # The old attempt's form, replayed now: the attempt is gone.
    assert client.post(action, {"question": qid, "answer": "1"})[0] == 404


def test_the_api_refuses_a_blank_attempt_and_hides_unanswered_answers(hub: LiveServer) -> None:
    client = signed_in(hub, "Gift Saba")
    url = f"/api{lesson_url(FRACTIONS)}/attempts"
    for blank in ({}, {"q1-quarter": ""}, {"q1-quarter": None, "q3-halves": []}):
        status, body = client.post_json(url, {"answers": blank})
        assert status == 400 and body["error"]["code"] == "no_answers"
    assert attempt_events(hub, "Gift Saba") == []
    status, body = client.post_json(url, {"answers": {"q1-quarter": 1}})
    assert status == 201 and body["mastered"] is False
    assert (body["answered"], body["finished"], body["seq"]) == (1, False, None)
    shown = {r["question_id"]: r for r in body["results"]}
    assert shown["q1-quarter"]["expected"] == "1/4"
    assert shown["q1-quarter"]["explanation"] == SAMPLE["q1-quarter"]["explanation"]
    hidden = [r for qid, r in shown.items() if qid != "q1-quarter"]
    assert hidden and all(r["expected"] is None and r["explanation"] is None for r in hidden)
    assert json.dumps(body).count("explanation") == 9  # the keys, one value filled in
    # One answer is one answer of the attempt, as on the quiz pages: no attempt event yet.
    assert attempt_events(hub, "Gift Saba") == []
    rest = {qid: json_answer(SAMPLE[qid]) for qid in body["questions"][1:]}
    status, body = client.post_json(url, {"answers": rest})
    assert status == 201 and body["finished"] and body["n_correct"] == 9
    [event] = attempt_events(hub, "Gift Saba")
    assert event["seq"] == body["seq"] and set(event["fields"]) == {
        "score",
        "correct",
        "answered",
        "mastered",
    }
    assert event["fields"]["answered"] == [True] * 9  # mastery hears of answered questions only


def json_answer(question: dict) -> object:
    """The right answer as a program sends it in JSON."""
    answer = question["answer"]
    return answer if question["type"] != "text" or isinstance(answer, str) else answer[0]


def test_the_api_grades_only_the_drawn_questions_in_order(hub: LiveServer) -> None:
    client = signed_in(hub, "Ida Tisa")
    base = f"/api{lesson_url(PICKED)}/attempts"
    every = {qid: json_answer(q) for qid, q in TWELVE.items()}
    status, body = client.post_json(base, {"answers": every})  # all twelve, known answers
    assert status == 400 and body["error"]["code"] == "not_in_quiz"
    assert attempt_events(hub, "Ida Tisa") == []
    status, text, _ = client.get(base)
    drawn = json.loads(text)["attempt"]
    assert drawn is None or drawn["answered"] == 0  # the refusal kept nothing
    status, body = client.post_json(base + "/new", {"after": 0})
    assert status == 201 and len(body["attempt"]["questions"]) == PICK
    first, second, *_ = body["attempt"]["questions"]
    assert all(r["expected"] is None for r in body["attempt"]["results"])
    status, body = client.post_json(base, {"answers": {second: every[second]}})
    assert status == 409 and body["error"]["code"] == "not_this_question"
    status, body = client.post_json(base, {"answers": {first: every[first]}})
    assert status == 201 and body["answered"] == 1 and body["correct"] == {first: True}
    status, body = client.post_json(base, {"answers": {first: every[first]}})
    assert status == 409 and body["error"]["code"] == "already_answered"
    status, body = client.post_json(base + "/new", {"after": 0})  # not while one is open
    assert status == 201 and body["attempt"]["answered"] == 1
    status, body = client.post_json(base + "/new", {"after": body["attempt"]["attempt"]})
    assert status == 409 and body["error"]["code"] == "quiz_not_finished"
    rest = {qid: every[qid] for qid in json.loads(client.get(base)[1])["attempt"]["questions"]}
    del rest[first]
    status, body = client.post_json(base, {"answers": rest})
    assert status == 201 and body["finished"] and body["n_correct"] == PICK
    [event] = attempt_events(hub, "Ida Tisa")
    assert len(event["fields"]["correct"]) == PICK  # sync's format, the drawn questions only


def test_the_api_and_the_pages_share_one_attempt(hub: LiveServer) -> None:
    client = signed_in(hub, "Juma Kumi")
    page = start(client, FRACTIONS)
    _, qid = current_question(page) or ("", "")
    assert answer(client, page, right_answer(SAMPLE[qid]))[0] == 303
    status, text, _ = client.get(f"/api{lesson_url(FRACTIONS)}/attempts")
    body = json.loads(text)["attempt"]
    assert body["answered"] == 1 and body["correct"] == {qid: True}
    status, body = client.post_json(
        f"/api{lesson_url(FRACTIONS)}/attempts", {"answers": {qid: json_answer(SAMPLE[qid])}}
    )
    assert status == 409 and body["error"]["code"] == "already_answered"


def test_a_choice_that_is_not_shown_is_refused(hub: LiveServer) -> None:
    client = signed_in(hub, "Hawa Nane")
    page = start(client, FRACTIONS)
    action, qid = current_question(page) or ("", "")
    assert SAMPLE[qid]["type"] == "single"  # the sample quiz asks its questions as written
    for bad in ("4", "-1", "99999999", "1.0", "one"):
        got, text, _ = client.post(action, {"question": qid, "answer": bad})
        assert got == 400 and 'role="alert"' in text
        assert "Choose from the answers shown." in text and SAMPLE[qid]["explanation"] not in text
    assert client.post(action, {"question": qid, "answer": right_answer(SAMPLE[qid])})[0] == 303
