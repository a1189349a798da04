"""`pick` in the exercise format, the draw it makes, and the attempts table's promises that a
server cannot show quickly: visitors' attempts stay bounded, and an attempt whose questions a
newer pack dropped gives way to a fresh one."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from flask import Flask

from content.errors import PackError
from content.exercise import draw, parse_exercise
from hub.core.db import connected
from hub.learning import quiz, quiz_attempts
from hub.learning.events import Event
from hub.learning.quiz_attempts import Owner, QuizAttempt, latest_attempt, start_attempt
from hub.library import lessons as lesson_service
from hub.library.models import Lesson
from tests.content_helpers import write_pack_dir
from tests.progress_helpers import add_learner
from tests.quiz_helpers import PICK, PICKED, picked_exercise, picked_pack


def parsed(**fields: object) -> object:
    return parse_exercise(json.dumps({**picked_exercise(), **fields}).encode(), "q.json")


def test_pick_is_how_many_questions_an_attempt_asks() -> None:
    exercise = parsed()
    assert exercise.per_attempt == PICK and len(exercise.questions) == 12
    whole = parsed(pick=12)
    assert draw(whole, 1) == draw(whole, 2) == tuple(q.id for q in whole.questions)
    without = {k: v for k, v in picked_exercise().items() if k not in ("pick", "mastery")}
    plain = parse_exercise(json.dumps(without).encode(), "q.json")
    assert plain.per_attempt == 12 and (plain.mastery_correct, plain.mastery_of) == (12, 12)
    # Without mastery, "every question right" means every question of one attempt.
    picked_only = {k: v for k, v in picked_exercise().items() if k != "mastery"}
    exercise = parse_exercise(json.dumps(picked_only).encode(), "q.json")
    assert (exercise.mastery_correct, exercise.mastery_of) == (PICK, PICK)


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        (0, "q.json: pick: expected a number >= 1; got 0"),
        (13, "q.json: pick: expected at most the number of questions (12); got 13"),
        (1001, "q.json: pick: expected at most the number of questions (12); got 1001"),
        (2.5, "q.json: pick: expected a whole number from 1 to 1000; got 2.5"),
        ("4", 'q.json: pick: expected a whole number from 1 to 1000; got "4"'),
        (True, "q.json: pick: expected a whole number from 1 to 1000; got true"),
    ],
)
def test_pick_is_range_checked(pick: object, message: str) -> None:
    with pytest.raises(PackError) as refused:
        parsed(pick=pick)
    assert str(refused.value) == message


def test_a_draw_depends_on_its_seed_alone() -> None:
    exercise = parsed()
    draws = {draw(exercise, seed) for seed in range(200)}
    assert all(len(set(d)) == PICK for d in draws)
    assert len(draws) > 190  # 11,880 possible: a repeat now and then, not a pattern
    assert {qid for d in draws for qid in d} == {q.id for q in exercise.questions}
    assert draw(exercise, 12345) == draw(parsed(), 12345)
    # The one sequence Python promises to keep: this draw is the same on every version.
    assert draw(exercise, 7) == ("n3", "n2", "n8", "n0")


@pytest.fixture
def lesson(app: Flask, tmp_path: Path) -> Lesson:
    outcome = app.extensions["library"].import_paths([picked_pack(tmp_path / "p")])
    assert outcome[0].error is None, outcome[0].error
    with connected():
        return Lesson.row(*PICKED)


def test_visitors_attempts_are_bounded(
    app: Flask, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quiz_attempts, "VISITOR_ATTEMPTS", 3)
    with app.app_context(), connected():
        exercise = lesson_service.exercise_of(lesson)
        learners = start_attempt(
            Owner(learner_id=add_learner("Amina Juma").id), lesson, exercise, 0
        )
        for at in range(10):
            start_attempt(Owner(visitor=f"visitor-{at}"), lesson, exercise, 0)
        kept = [a.visitor for a in QuizAttempt.select().where(QuizAttempt.visitor.is_null(False))]
        assert kept == ["visitor-7", "visitor-8", "visitor-9"]
        assert QuizAttempt.get_or_none(QuizAttempt.id == learners.id) is not None  # not a visitor's


def test_an_attempt_whose_question_is_gone_gives_way(
    app: Flask, lesson: Lesson, tmp_path: Path
) -> None:
    owner = Owner(visitor="a-visitor")
    with app.app_context(), connected():
        first = start_attempt(owner, lesson, lesson_service.exercise_of(lesson), 0)
        dropped = first.questions[0]
    newer = picked_exercise()
    newer["questions"] = [q for q in newer["questions"] if q["id"] != dropped]
    manifest = json.loads((tmp_path / "p" / "pack.json").read_text())
    manifest["version"] = "1.1.0"
    pack = write_pack_dir(tmp_path / "p2", manifest, {"twelve.json": json.dumps(newer).encode()})
    assert app.extensions["library"].import_paths([pack])[0].error is None
    with app.app_context(), connected():
        exercise = lesson_service.exercise_of(Lesson.row(*PICKED))
        assert latest_attempt(owner, lesson, exercise) is None
        second = start_attempt(owner, lesson, exercise, 0)
        assert second.id != first.id and dropped not in second.questions
        assert QuizAttempt.select().count() == 1


def test_a_quiz_finished_while_another_learner_posts_progress_both_go_through(
    app: Flask, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finishing a quiz writes the attempt, then records its event; a progress post meanwhile
    holds the event log's turn and waits for the database. Each waited for the other until
    SQLite's busy timeout failed the post (a class of 40 on the bench: one progress post in
    twenty failed after 10 s). The quiz now takes the log's turn before it writes."""
    log = app.extensions["events"]
    with app.app_context(), connected():
        quizzer, poster = add_learner("Amina Juma").id, add_learner("Baraka Ali").id
        exercise = lesson_service.exercise_of(lesson)
        attempt = start_attempt(Owner(learner_id=quizzer), lesson, exercise, 0)
    answers = {qid: 0 for qid in attempt.questions}
    wrote, failures = threading.Event(), []
    history = quiz.answer_history

    def answer_history_after_the_write(learner_id: int, lesson: Lesson) -> list[bool]:
        wrote.set()  # the attempt's row is written, its event not yet recorded
        time.sleep(0.5)  # the post below is waiting by now, for whatever it waits for
        return history(learner_id, lesson)

    monkeypatch.setattr(quiz, "answer_history", answer_history_after_the_write)

    def finish_the_quiz() -> None:
        try:
            with app.app_context(), connected():
                quiz_attempts.answer_questions(
                    log, Owner(learner_id=quizzer), lesson, exercise, answers
                )
        except Exception as err:
            failures.append(f"quiz: {err!r}")

    quizzing = threading.Thread(target=finish_the_quiz)
    quizzing.start()
    assert wrote.wait(10)
    try:
        with app.app_context(), connected():
            log.record(poster, *PICKED, "progress", {"progress": 0.5})
    except Exception as err:
        failures.append(f"progress: {err!r}")
    quizzing.join(30)
    assert failures == []
    with connected():
        assert sorted(e.type for e in Event.select()) == ["attempt", "progress"]
